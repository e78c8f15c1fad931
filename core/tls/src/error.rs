//! Errors of the TLS layer.

use std::path::PathBuf;

/// What went wrong in wolfSSL or in the use of this wrapper.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// `wolfSSL_Init` failed; nothing TLS can work.
    #[error("wolfSSL failed to initialise (code {0})")]
    Init(i32),
    /// wolfSSL could not allocate a context or session object.
    #[error("wolfSSL could not allocate {0}")]
    Alloc(&'static str),
    /// The certificate chain could not be loaded.
    #[error("cannot load certificate chain {path}: {reason}")]
    Certificate {
        /// The PEM file that was read.
        path: PathBuf,
        /// wolfSSL's reason.
        reason: String,
    },
    /// The private key could not be loaded or does not match the certificate.
    #[error("cannot load private key {path}: {reason}")]
    PrivateKey {
        /// The PEM file that was read.
        path: PathBuf,
        /// wolfSSL's reason.
        reason: String,
    },
    /// A cipher suite outside the secure default set was requested, or none was usable.
    #[error("cipher list rejected: {0}")]
    CipherList(String),
    /// A key-exchange group name is unknown.
    #[error("unknown TLS group `{0}`")]
    Group(String),
    /// A path contained a NUL byte or was not valid UTF-8.
    #[error("path {0} cannot be passed to wolfSSL")]
    BadPath(PathBuf),
    /// The peer or the handshake failed with a fatal TLS error.
    #[error("TLS error {code}: {reason}")]
    Fatal {
        /// wolfSSL's (negative) error code.
        code: i32,
        /// wolfSSL's description of the code.
        reason: String,
    },
    /// Keying material could not be exported (handshake not done, or arrays already freed).
    #[error("keying material export failed")]
    Export,
    /// The operation needs a completed handshake.
    #[error("handshake not complete")]
    NotConnected,
}
