// Image-like pixel work: render a size x size RGBA gradient, grey it, box-blur it, histogram it.
export const params = { size: { min: 8, max: 2048, default: 256 } };

/** Render, convert to luminance, blur with a 3x3 box, and return a 16-bin histogram and the mean. */
export function pixels({ size }) {
  const rgba = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = (y * size + x) * 4;
      rgba[p] = (x * 255) / size;
      rgba[p + 1] = (y * 255) / size;
      rgba[p + 2] = ((x ^ y) * 7) & 0xff;
      rgba[p + 3] = 255;
    }
  }
  const grey = new Float32Array(size * size);
  for (let i = 0; i < grey.length; i++) grey[i] = 0.2126 * rgba[i * 4] + 0.7152 * rgba[i * 4 + 1] + 0.0722 * rgba[i * 4 + 2];
  const blurred = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let sum = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || yy >= size || xx < 0 || xx >= size) continue;
          sum += grey[yy * size + xx];
          n++;
        }
      }
      blurred[y * size + x] = sum / n;
    }
  }
  const histogram = new Array(16).fill(0);
  let total = 0;
  for (const value of blurred) {
    histogram[Math.min(15, Math.floor(value / 16))]++;
    total += value;
  }
  return { mean: Math.round((total / blurred.length) * 100) / 100, histogram };
}
