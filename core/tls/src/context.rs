//! The server context: certificates, versions, suites and groups, frozen after construction.

use std::ffi::{CString, c_int};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use wolfssl_sys as sys;

use crate::{TlsError, TlsSession, ffi};

/// The lowest protocol version the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3 (openconnect 9.01 and Cisco clients use either).
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// The secure default suites, strongest first. A configured list may only pick from these.
///
/// TLS 1.2 suites are ECDHE with AEAD only: no static RSA, no CBC, no SHA-1 MACs.
pub const DEFAULT_CIPHER_LIST: &[&str] = &[
    "TLS13-AES256-GCM-SHA384",
    "TLS13-CHACHA20-POLY1305-SHA256",
    "TLS13-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
];

/// Key-exchange groups in preference order: the post-quantum hybrid first, then classic ones so
/// that today's clients (GnuTLS 3.7, OpenSSL 3.0) are unaffected.
pub const DEFAULT_GROUPS: &[&str] = &["X25519MLKEM768", "X25519", "P-256"];

/// IANA code points of the groups the server can offer.
const GROUPS: &[(&str, c_int)] = &[
    ("X25519MLKEM768", 0x11EC),
    ("SecP256r1MLKEM768", 0x11EB),
    ("SecP384r1MLKEM1024", 0x11ED),
    ("X25519", 29),
    ("X448", 30),
    ("P-256", 23),
    ("P-384", 24),
    ("P-521", 25),
];

/// Everything needed to build a [`ServerContext`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// PEM file with the server certificate followed by its chain.
    pub certificate: PathBuf,
    /// PEM file with the private key (RSA or ECDSA).
    pub private_key: PathBuf,
    /// Lowest accepted version.
    pub min_version: TlsVersion,
    /// Suites to allow, a subset of [`DEFAULT_CIPHER_LIST`]; `None` means all of them.
    pub cipher_list: Option<Vec<String>>,
    /// Groups in preference order; empty means [`DEFAULT_GROUPS`].
    pub groups: Vec<String>,
}

/// A configured TLS server context, shared by all connections (`Send + Sync`).
///
/// It is configured completely in [`ServerContext::new`] and never mutated afterwards, which is
/// what makes sharing it across threads sound (wolfSSL only reads a CTX while creating sessions).
#[derive(Clone)]
pub struct ServerContext {
    inner: Arc<CtxHandle>,
}

/// Which server protocol family a context speaks.
#[derive(Clone, Copy)]
pub(crate) enum Method {
    /// TLS 1.2 and 1.3 (the version floor is set afterwards).
    Tls,
    /// DTLS 1.2 only (resumption: wolfSSL's secret callback works on the 1.2 state machine).
    Dtls12,
    /// DTLS 1.2 and 1.3, negotiated per session (the floor is set afterwards).
    Dtls,
    /// A TLS 1.2/1.3 client (test peers only).
    #[cfg(feature = "client")]
    TlsClient,
    /// A DTLS 1.3 client (test peers only).
    #[cfg(feature = "client")]
    Dtls13Client,
}

/// An owned `WOLFSSL_CTX`, freed on drop. Shared by the TLS and DTLS contexts.
pub(crate) struct CtxHandle(pub(crate) NonNull<sys::WOLFSSL_CTX>);

impl CtxHandle {
    /// Initialises wolfSSL once and allocates an empty server context.
    pub(crate) fn new(method: Method) -> Result<Self, TlsError> {
        ffi::init()?;
        let table = match method {
            // SAFETY: returns a freshly allocated method table (or NULL, which CTX_new rejects).
            Method::Tls => unsafe { sys::wolfSSLv23_server_method() },
            // SAFETY: as above.
            Method::Dtls12 => unsafe { sys::wolfDTLSv1_2_server_method() },
            // SAFETY: as above.
            Method::Dtls => unsafe { sys::wolfDTLS_server_method() },
            // SAFETY: as above.
            #[cfg(feature = "client")]
            Method::TlsClient => unsafe { sys::wolfSSLv23_client_method() },
            // SAFETY: as above.
            #[cfg(feature = "client")]
            Method::Dtls13Client => unsafe { sys::wolfDTLSv1_3_client_method() },
        };
        // SAFETY: wolfSSL_CTX_new takes ownership of the method table and returns either NULL or
        // a fresh context.
        let raw = unsafe { sys::wolfSSL_CTX_new(table) };
        NonNull::new(raw)
            .map(Self)
            .ok_or(TlsError::Alloc("a TLS or DTLS context"))
    }
}

// SAFETY: the CTX is fully configured before the handle is shared and wolfSSL only reads it
// afterwards (wolfSSL_new takes its own reference under the CTX's internal mutex).
unsafe impl Send for CtxHandle {}
// SAFETY: as above: no method mutates the CTX after construction.
unsafe impl Sync for CtxHandle {}

impl Drop for CtxHandle {
    fn drop(&mut self) {
        // SAFETY: the pointer came from wolfSSL_CTX_new and is freed exactly once; sessions hold
        // their own reference count inside wolfSSL.
        unsafe { sys::wolfSSL_CTX_free(self.0.as_ptr()) };
    }
}

impl std::fmt::Debug for ServerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerContext").finish_non_exhaustive()
    }
}

impl ServerContext {
    /// Builds a TLS server context from `config`.
    pub fn new(config: &ServerConfig) -> Result<Self, TlsError> {
        let handle = CtxHandle::new(Method::Tls)?;
        let ctx = handle.0.as_ptr();

        let min = match config.min_version {
            TlsVersion::Tls12 => sys::WOLFSSL_TLSV1_2,
            TlsVersion::Tls13 => sys::WOLFSSL_TLSV1_3,
        };
        // SAFETY: ctx is a live context owned by `handle`.
        let rc = unsafe { sys::wolfSSL_CTX_SetMinVersion(ctx, min as c_int) };
        check(rc, "set the minimum version")?;

        load_identity(ctx, &config.certificate, &config.private_key)?;

        let suites = cipher_list(config.cipher_list.as_deref())?;
        let suites = CString::new(suites).map_err(|_| TlsError::CipherList("NUL byte".into()))?;
        // SAFETY: ctx is live; suites is NUL-terminated and outlives the call.
        let rc = unsafe { sys::wolfSSL_CTX_set_cipher_list(ctx, suites.as_ptr()) };
        if rc != sys::WOLFSSL_SUCCESS as c_int {
            return Err(TlsError::CipherList(format!(
                "wolfSSL accepted none of {suites:?}: {}",
                ffi::reason(rc)
            )));
        }

        let mut groups = group_ids(&config.groups)?;
        // SAFETY: ctx is live; the slice is valid for `len` ints during the call (wolfSSL copies).
        let rc =
            unsafe { sys::wolfSSL_CTX_set_groups(ctx, groups.as_mut_ptr(), groups.len() as c_int) };
        check(rc, "set the key-exchange groups")?;

        Ok(Self {
            inner: Arc::new(handle),
        })
    }

    /// Creates the server side of one new connection.
    pub fn new_session(&self) -> Result<TlsSession, TlsError> {
        TlsSession::new(self.inner.clone(), false)
    }
}

/// A TLS client context for test peers: wolfSSL's own client, certificate checks off (the
/// interop tests pin nothing; they only need a CSTP session and its exporter).
#[cfg(feature = "client")]
#[derive(Clone)]
pub struct ClientContext {
    inner: Arc<CtxHandle>,
}

#[cfg(feature = "client")]
impl std::fmt::Debug for ClientContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientContext").finish_non_exhaustive()
    }
}

#[cfg(feature = "client")]
impl ClientContext {
    /// A TLS 1.2/1.3 client context that accepts any server certificate.
    pub fn new() -> Result<Self, TlsError> {
        let handle = CtxHandle::new(Method::TlsClient)?;
        // SAFETY: the context is live; VERIFY_NONE with no callback is a valid setting.
        unsafe {
            sys::wolfSSL_CTX_set_verify(handle.0.as_ptr(), sys::WOLFSSL_VERIFY_NONE as c_int, None)
        };
        Ok(Self {
            inner: Arc::new(handle),
        })
    }

    /// The client side of one new connection; [`TlsSession::handshake`] connects.
    pub fn new_session(&self) -> Result<TlsSession, TlsError> {
        TlsSession::new(self.inner.clone(), true)
    }
}

/// Loads the certificate chain and private key into `ctx` and checks that they match.
pub(crate) fn load_identity(
    ctx: *mut sys::WOLFSSL_CTX,
    certificate: &Path,
    private_key: &Path,
) -> Result<(), TlsError> {
    let cert = c_path(certificate)?;
    // SAFETY: ctx is live; cert is a NUL-terminated path that outlives the call.
    let rc = unsafe { sys::wolfSSL_CTX_use_certificate_chain_file(ctx, cert.as_ptr()) };
    if rc != sys::WOLFSSL_SUCCESS as c_int {
        return Err(TlsError::Certificate {
            path: certificate.to_owned(),
            reason: ffi::reason(rc),
        });
    }
    let key = c_path(private_key)?;
    // SAFETY: ctx is live; key is a NUL-terminated path that outlives the call.
    let rc = unsafe {
        sys::wolfSSL_CTX_use_PrivateKey_file(ctx, key.as_ptr(), sys::WOLFSSL_FILETYPE_PEM as _)
    };
    if rc != sys::WOLFSSL_SUCCESS as c_int {
        return Err(TlsError::PrivateKey {
            path: private_key.to_owned(),
            reason: ffi::reason(rc),
        });
    }
    // SAFETY: ctx is live with a certificate and key loaded.
    let rc = unsafe { sys::wolfSSL_CTX_check_private_key(ctx) };
    if rc != sys::WOLFSSL_SUCCESS as c_int {
        return Err(TlsError::PrivateKey {
            path: private_key.to_owned(),
            reason: "the key does not match the certificate".into(),
        });
    }
    Ok(())
}

fn check(rc: c_int, what: &str) -> Result<(), TlsError> {
    if rc == sys::WOLFSSL_SUCCESS as c_int {
        Ok(())
    } else {
        Err(TlsError::Fatal {
            code: rc,
            reason: format!("could not {what}: {}", ffi::reason(rc)),
        })
    }
}

fn c_path(path: &Path) -> Result<CString, TlsError> {
    let text = path
        .to_str()
        .ok_or_else(|| TlsError::BadPath(path.to_owned()))?;
    CString::new(text).map_err(|_| TlsError::BadPath(path.to_owned()))
}

/// Resolves the configured suites against the secure default; anything outside it is refused.
fn cipher_list(wanted: Option<&[String]>) -> Result<String, TlsError> {
    let Some(wanted) = wanted else {
        return Ok(DEFAULT_CIPHER_LIST.join(":"));
    };
    if wanted.is_empty() {
        return Err(TlsError::CipherList("the list is empty".into()));
    }
    for suite in wanted {
        if !DEFAULT_CIPHER_LIST.contains(&suite.as_str()) {
            return Err(TlsError::CipherList(format!(
                "`{suite}` is not in the secure default set ({})",
                DEFAULT_CIPHER_LIST.join(", ")
            )));
        }
    }
    Ok(wanted.join(":"))
}

fn group_ids(names: &[String]) -> Result<Vec<c_int>, TlsError> {
    let names: Vec<&str> = if names.is_empty() {
        DEFAULT_GROUPS.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    names
        .iter()
        .map(|name| {
            GROUPS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|&(_, id)| id)
                .ok_or_else(|| TlsError::Group((*name).to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_list_only_tightens() {
        assert_eq!(cipher_list(None).unwrap(), DEFAULT_CIPHER_LIST.join(":"));
        let one = vec!["TLS13-AES256-GCM-SHA384".to_owned()];
        assert_eq!(cipher_list(Some(&one)).unwrap(), "TLS13-AES256-GCM-SHA384");
        let weak = vec!["AES128-SHA".to_owned()];
        assert!(matches!(
            cipher_list(Some(&weak)),
            Err(TlsError::CipherList(_))
        ));
        assert!(cipher_list(Some(&[])).is_err());
    }

    #[test]
    fn groups_resolve_case_insensitively_and_reject_unknown() {
        assert_eq!(group_ids(&[]).unwrap(), vec![0x11EC, 29, 23]);
        assert_eq!(group_ids(&["p-384".into()]).unwrap(), vec![24]);
        assert!(matches!(
            group_ids(&["brainpool".into()]),
            Err(TlsError::Group(_))
        ));
    }
}
