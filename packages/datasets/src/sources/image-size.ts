import { imageSize as readImageSize } from "image-size";
import { O3mlError } from "@o3ml/errors";

/** Extensions of the image files whose size is read; other members of an ImageFolder tree are not looked at. */
const IMAGE_EXTS = new Set(["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]);

/**
 * Width and height of an ImageFolder image from its first bytes, only to
 * tell the user when a folder mixes sizes; the bytes are stored as they are
 * either way. Undefined for a file whose extension is not an image's, and
 * for one whose header may lie past `head` (only the start of a large file).
 * An image whose whole file is in `head` and whose header cannot be read is
 * an error: a data loader would fail on it in the middle of an epoch.
 */
export function imageSize(head: Uint8Array, file: { abs: string; ext: string; size: number }): { width: number; height: number } | undefined {
  if (!IMAGE_EXTS.has(file.ext)) return undefined;
  try {
    const { width, height } = readImageSize(head);
    return { width, height };
  } catch (err) {
    if (head.byteLength < file.size) return undefined;
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `${file.abs} is not a readable .${file.ext} image (${(err as Error).message}); the file is damaged or not an image: replace it or remove it from the dataset folder`,
      { path: file.abs },
      { cause: err },
    );
  }
}
