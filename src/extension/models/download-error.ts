// Why a model download failed, as a stable kind the UI turns into a message and an action.
export type DownloadErrorKind =
  | 'insecure_url' // not HTTPS (plain HTTP only to this machine), or a redirect away from HTTPS
  | 'host_not_allowed' // the URL's host is not the catalogue's
  | 'too_many_redirects'
  | 'http_status' // the server answered with an error status
  | 'network' // the connection failed or closed early (the partial file is kept for a resume)
  | 'size_mismatch'
  | 'checksum_mismatch' // the file is not the published one (discarded; the old model is kept)
  | 'no_space'
  | 'bad_file_name'
  | 'cancelled'; // by the user (the partial file is kept for a resume)

export class DownloadError extends Error {
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}
