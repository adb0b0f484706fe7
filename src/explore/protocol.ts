/** What the explorer's server tells its page (GET /api/model); the tensors come as raw f32. */

/** The model and the data behind the page. */
export interface ExploreModel {
  /** The checkpoint's path, as given to the server. */
  checkpoint: string;
  /** Epochs it was trained for. */
  epoch: number;
  /** The architecture. */
  model: "conv" | "mlp";
  /** Its validated config (ConvConfig or MlpConfig). */
  config: Record<string, unknown>;
  /** The likelihood's name and constants, for likelihoodByName. */
  likelihood: { name: string; constants: Record<string, number> };
  /** L, the latent dimension. */
  latent: number;
  /** The adapter the server encoded the test images on. */
  serverAdapter: string;
  /** Floats in /api/params and in /api/state (0 where the model has no state). */
  params: number;
  state: number;
  /** mu (n x L, flat) of the first n test images, and their digits. */
  points: { mu: number[]; labels: number[] };
  /**
   * The plane's and sliders' directions: for a 2-D latent z1 and z2 themselves (mean 0); else
   * the first principal directions of the points' mu, unit length, and the spread along each.
   */
  axes: { mean: number[]; components: number[][]; sd: number[] };
  /** The first test images (their mu are points.mu's first rows): pixels 0-255, row-major. */
  thumbs: { index: number; label: number; pixels: number[] }[];
}
