/**
 * Why `name` is not a valid Akave O3 bucket name, or undefined when it is.
 * Akave's rules are stricter than S3's: 3 to 63 characters, only lowercase
 * letters, digits and hyphens (no dots), starting and ending with a letter or
 * digit. moto accepts names S3 itself refuses, so the profile layer checks.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `must be 3 to 63 characters long (is ${name.length})`;
  if (!/^[a-z0-9-]+$/.test(name)) return "may contain only lowercase letters, digits and hyphens";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return "must start and end with a lowercase letter or digit";
  return undefined;
}
