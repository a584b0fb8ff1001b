/**
 * The environment variables the AWS stores read as credentials: kept from `tessera run` children and
 * from other stores' tools unless declared. (The stores read other AWS_* variables too — AWS_PROFILE,
 * AWS_REGION, the files' paths —, which are settings, not secrets.) Apart from ./client.ts so that the
 * catalog can name them without loading the client.
 */
export const AWS_CREDENTIALS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];
