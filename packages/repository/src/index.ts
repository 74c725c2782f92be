/**
 * @o3ml/repository: what o3ml stores in a bucket and the order it writes it in.
 */
export {};
