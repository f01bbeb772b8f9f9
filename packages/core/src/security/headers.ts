/** Headers and property values that signing and encryption write on the wire. */
export const SECURITY_HEADERS = {
  /** HMAC-SHA256 of the body and the identifying properties, base64. */
  signature: 'x-tidings-signature',
  /** Id of the key that made `signature`. */
  signatureKey: 'x-tidings-signature-key',
  /** Id of the key the body is encrypted with. */
  encryptionKey: 'x-tidings-encryption-key',
} as const;

/**
 * `contentEncoding` of an encrypted body: 12-byte IV, AES-256-GCM ciphertext of the JSON, 16-byte
 * tag. The content type stays `application/json`: it is what the body is once decrypted.
 */
export const ENCRYPTED_CONTENT_ENCODING = 'aes-256-gcm';
