import { O3mlError } from "@o3ml/errors";

/** Akave's bucket naming rule, as one pattern: 3–63 chars of a-z, 0-9 and "-", letter or digit at both ends. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export const BUCKET_NAME_RULE =
  "3 to 63 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit";

/** Throws INVALID_ARGUMENT naming the rule and the offending name unless `name` is a valid bucket name. */
export function validateBucketName(name: string): void {
  if (!BUCKET_NAME.test(name)) {
    throw new O3mlError("INVALID_ARGUMENT", `invalid bucket name ${JSON.stringify(name)}: a bucket name must be ${BUCKET_NAME_RULE} (set O3ML_BUCKET)`, {
      bucket: name,
    });
  }
}
