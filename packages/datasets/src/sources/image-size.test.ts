import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { folderSource } from "./folder-source.js";
import { imageSize } from "./image-size.js";

const python = fileURLToPath(new URL("../../../../.venv/bin/python", import.meta.url));

/** Real image files of each format, written by Pillow. */
function images(dir: string): Record<string, string> {
  const formats = { png: [33, 17], jpg: [40, 30], gif: [7, 9], bmp: [12, 5], webp: [64, 48], tiff: [3, 4] };
  execFileSync(python, [
    "-c",
    `import json, sys
from PIL import Image
for ext, (w, h) in json.loads(sys.argv[2]).items():
    Image.new("RGB", (w, h), (200, 10, 10)).save(f"{sys.argv[1]}/img.{ext}")`,
    dir,
    JSON.stringify(formats),
  ]);
  return Object.fromEntries(Object.keys(formats).map((ext) => [ext, join(dir, `img.${ext}`)]));
}

const fileOf = (abs: string, ext: string) => {
  const bytes = readFileSync(abs);
  return { bytes, file: { abs, ext, size: bytes.byteLength } };
};

describe("image sizes", () => {
  it("reads the width and height of PNG, JPEG, GIF, BMP, WebP and TIFF files", () => {
    const dir = mkdtempSync(join(tmpdir(), "o3ml-img-"));
    const sizes = Object.fromEntries(
      Object.entries(images(dir)).map(([ext, abs]) => {
        const { bytes, file } = fileOf(abs, ext);
        const d = imageSize(bytes, file);
        return [ext, d && `${d.width}x${d.height}`];
      }),
    );
    expect(sizes).toEqual({ png: "33x17", jpg: "40x30", gif: "7x9", bmp: "12x5", webp: "64x48", tiff: "3x4" });
  });

  it("does not look at other files, nor at a large file whose header may lie past the bytes read", () => {
    expect(imageSize(Buffer.from("<svg></svg>"), { abs: "/d/a.txt", ext: "txt", size: 11 })).toBeUndefined();
    expect(imageSize(Buffer.from([0xff, 0xd8, 0xff, 0xe1]), { abs: "/d/big.jpg", ext: "jpg", size: 5 << 20 })).toBeUndefined();
  });

  it("refuses an image whose header cannot be read, naming the file and what to do", async () => {
    const dir = mkdtempSync(join(tmpdir(), "o3ml-img-"));
    const { png, jpg } = images(dir);
    const tree = join(dir, "tree");
    mkdirSync(join(tree, "cat"), { recursive: true });
    mkdirSync(join(tree, "dog"), { recursive: true });
    writeFileSync(join(tree, "cat", "a.png"), readFileSync(png!));
    writeFileSync(join(tree, "dog", "b.jpg"), readFileSync(jpg!).subarray(0, 40)); // cut before the frame header
    writeFileSync(join(tree, "dog", "c.png"), "not an image at all");

    const { bytes, file } = fileOf(join(tree, "dog", "b.jpg"), "jpg");
    expect(() => imageSize(bytes, file)).toThrow(/b\.jpg is not a readable \.jpg image \(.+\); the file is damaged or not an image: replace it or remove it/);

    const source = await folderSource(tree, { seed: 0 });
    const read = async (key: string) => {
      for await (const s of source.samples()) if (s.key === key) for (const m of s.members) if (m.open) for await (const _ of m.open());
    };
    await read("cat/a");
    expect(source.notes().imageSizes).toEqual({ "33x17": 1 });
    await expect(read("dog/b")).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("b.jpg is not a readable .jpg image") });
    await expect(read("dog/c")).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("c.png is not a readable .png image (unsupported file type") });
  });
});
