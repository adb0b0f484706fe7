/**
 * The one DEBUG switch: set to anything but "", "0", "false", "no" or "off", it turns on
 * WebGPU validation of every submit and full stacks on errors. Without --allow-env it is off.
 */
export function debugEnabled(): boolean {
  let v: string | undefined;
  try {
    v = Deno.env.get("DEBUG");
  } catch {
    return false; // no --allow-env: behave as without DEBUG
  }
  return v !== undefined && !["", "0", "false", "no", "off"].includes(v.trim().toLowerCase());
}
