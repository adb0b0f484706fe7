/**
 * The images' shape and classes: what the models and the GPU dataset need to know of MNIST,
 * apart from reading its files (src/data/mnist.ts), so that a browser can import them.
 */

/** Rows of an image. */
export const ROWS = 28;
/** Columns of an image. */
export const COLS = 28;
/** Pixels per image. */
export const PIXELS = ROWS * COLS;
/** Digit classes, 0-9. */
export const CLASSES = 10;
