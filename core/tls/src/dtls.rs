//! DTLS servers for the OpenConnect data channel, in datagram memory-IO style.
//!
//! Two ways to key a session, chosen per tunnel at CONNECT time:
//! - **PSK-NEGOTIATE** (openconnect ≥ 7.08): the key is the 32-byte `EXPORTER-openconnect-psk`
//!   value of the CSTP TLS session; the client's PSK identity (always `psk`) is ignored. The
//!   context speaks DTLS 1.2 and 1.3: a client that offers DTLS 1.3 (no released OpenConnect
//!   client does; wolfSSL's own client is the test peer) gets it with
//!   `TLS13-AES128-GCM-SHA256` keyed by the same exporter, its App-ID as PSK identity, and
//!   connection ids (RFC 9147 §9) when it asks for them, so its session survives address
//!   changes without guessing by IP.
//! - **Resumption** (Cisco Secure Client, openconnect's `X-DTLS12-CipherSuite` and
//!   `OC-DTLS1_2-*` modes): the client sends a 48-byte master secret over CSTP and then
//!   "resumes" a session that never existed. The secret callback supplies it, and a handshake
//!   that was not a resumption is refused, so nobody gets a DTLS session without the secret.
//!
//! The caller creates a [`DtlsSession`] only after it matched the ClientHello's session id to an
//! authenticated tunnel, so unknown or forged ids never cost a wolfSSL object.
//!
//! ```text
//!   UDP datagram ──feed()──► [one datagram] ──wolfSSL──► record payload ──► caller
//!   caller ──write()──► wolfSSL ──► [datagrams + lengths] ──drain_outgoing()──► UDP send
//! ```

use std::ffi::{c_char, c_int, c_uchar, c_uint, c_void};
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use wolfssl_sys as sys;

use crate::context::{CtxHandle, Method};
use crate::{HandshakeStatus, ReadOutcome, TlsError, ffi};

/// The PSK suites openconnect 9.01 offers that the server accepts, strongest first.
pub const PSK_CIPHER_LIST: &str =
    "PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256:PSK-CHACHA20-POLY1305";

/// The DTLS 1.3 suite of PSK sessions. wolfSSL pairs an external PSK with its default
/// `TLS_AES_128_GCM_SHA256` (the binder hash must match the suite), so that is the one offered.
pub const DTLS13_CIPHER_LIST: &str = "TLS13-AES128-GCM-SHA256";

/// Length of the connection ids the server hands out (see
/// `wolfguard_proto::dtls::SERVER_CID_LEN`).
pub const CID_LEN: usize = wolfguard_proto::dtls::SERVER_CID_LEN;

/// How a DTLS session is keyed.
#[derive(Clone)]
#[non_exhaustive]
pub enum DtlsKeys {
    /// PSK-NEGOTIATE with this key.
    Psk([u8; 32]),
    /// Resumption of the client's announced master secret with one cipher suite (wolfSSL's
    /// name, e.g. `ECDHE-RSA-AES256-GCM-SHA384` or `AES256-GCM-SHA384`).
    Resume {
        /// `X-DTLS-Master-Secret`.
        master_secret: [u8; 48],
        /// The suite announced to the client.
        suite: String,
    },
}

impl std::fmt::Debug for DtlsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Psk(_) => f.write_str("Psk(..)"),
            Self::Resume { suite, .. } => write!(f, "Resume {{ suite: {suite:?}, .. }}"),
        }
    }
}

/// A DTLS 1.2 server context, shared by all DTLS sessions of its kind (`Send + Sync`).
#[derive(Clone)]
pub struct DtlsContext {
    inner: Arc<CtxHandle>,
    resume: bool,
}

/// The PSK-NEGOTIATE context (kept as a name for callers that only do PSK).
pub type DtlsPskContext = DtlsContext;

impl std::fmt::Debug for DtlsContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtlsContext")
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

impl DtlsContext {
    /// A context for resumption mode. The server's certificate and key are loaded because
    /// wolfSSL checks that the announced suite suits the key, although an abbreviated handshake
    /// never sends them.
    pub fn resume(
        certificate: &std::path::Path,
        private_key: &std::path::Path,
    ) -> Result<Self, TlsError> {
        let handle = CtxHandle::new(Method::Dtls12)?;
        let ctx = handle.0.as_ptr();
        crate::context::load_identity(ctx, certificate, private_key)?;
        // SAFETY: ctx is live; gen_cookie_cb matches CallbackGenCookie.
        unsafe { sys::wolfSSL_CTX_SetGenCookie(ctx, Some(gen_cookie_cb)) };
        Ok(Self {
            inner: Arc::new(handle),
            resume: true,
        })
    }

    /// A context accepting [`PSK_CIPHER_LIST`] over DTLS 1.2 and [`DTLS13_CIPHER_LIST`] over
    /// DTLS 1.3.
    pub fn new() -> Result<Self, TlsError> {
        let handle = CtxHandle::new(Method::Dtls)?;
        let ctx = handle.0.as_ptr();
        // SAFETY: ctx is live; the version constant is one wolfSSL defines.
        let rc = unsafe { sys::wolfSSL_CTX_SetMinVersion(ctx, sys::WOLFSSL_DTLSV1_2 as c_int) };
        if rc != sys::WOLFSSL_SUCCESS as c_int {
            return Err(TlsError::CipherList(format!(
                "DTLS 1.2 floor: {}",
                ffi::reason(rc)
            )));
        }
        // The CTX-level callback must exist before wolfSSL_new on a context without a
        // certificate, or wolfSSL_new fails.
        // SAFETY: ctx is live; psk_cb matches wc_psk_server_callback.
        unsafe { sys::wolfSSL_CTX_set_psk_server_callback(ctx, Some(psk_cb)) };
        // SAFETY: ctx is live; gen_cookie_cb matches CallbackGenCookie.
        unsafe { sys::wolfSSL_CTX_SetGenCookie(ctx, Some(gen_cookie_cb)) };
        let list = std::ffi::CString::new(format!("{PSK_CIPHER_LIST}:{DTLS13_CIPHER_LIST}"))
            .map_err(|_| TlsError::Export)?;
        // SAFETY: ctx is live; list is NUL-terminated and outlives the call.
        let rc = unsafe { sys::wolfSSL_CTX_set_cipher_list(ctx, list.as_ptr()) };
        if rc != sys::WOLFSSL_SUCCESS as c_int {
            return Err(TlsError::CipherList(format!(
                "DTLS PSK suites: {}",
                ffi::reason(rc)
            )));
        }
        Ok(Self {
            inner: Arc::new(handle),
            resume: false,
        })
    }

    /// A server session keyed with `keys`. `mtu` bounds one datagram (headers of IP and UDP
    /// excluded); records larger than it are refused by [`DtlsSession::write`]. `cid` is the
    /// connection id the server asks the client to put on its records, used only if the client
    /// negotiates connection ids (DTLS 1.3 clients that ask; never openconnect 9).
    pub fn new_session(
        &self,
        keys: DtlsKeys,
        cookie_secret: [u8; 32],
        mtu: u16,
        cid: Option<[u8; CID_LEN]>,
    ) -> Result<DtlsSession, TlsError> {
        let (psk, master, suite) = match keys {
            DtlsKeys::Psk(k) if !self.resume => (k, None, None),
            DtlsKeys::Resume {
                master_secret,
                suite,
            } if self.resume => ([0; 32], Some(master_secret), Some(suite)),
            _ => {
                return Err(TlsError::CipherList(
                    "keys do not match the DTLS context".into(),
                ));
            }
        };
        let mut s = self.session(
            DgramIo {
                psk,
                master,
                cookie_secret,
                ..DgramIo::default()
            },
            false,
            mtu,
        )?;
        let p = s.ssl.as_ptr();
        let io: *mut DgramIo = &mut *s.io;
        if let Some(mut cid) = cid {
            s.use_cid(&mut cid)?;
        }
        // X-DTLS-Rekey-Method: ssl — openconnect renegotiates the DTLS 1.2 session in place at
        // X-DTLS-Rekey-Time; RFC 5746 secure renegotiation makes that safe.
        // SAFETY: p is live and the handshake has not started.
        let rc = unsafe { sys::wolfSSL_UseSecureRenegotiation(p) };
        if rc != sys::WOLFSSL_SUCCESS as c_int {
            return Err(TlsError::Fatal {
                code: rc,
                reason: "secure renegotiation unavailable".into(),
            });
        }
        // A DTLS 1.3 ClientHello with a post-quantum key share may span two datagrams.
        // SAFETY: p is live.
        unsafe { sys::wolfSSL_dtls13_allow_ch_frag(p, 1) };
        if let Some(suite) = suite {
            let list = std::ffi::CString::new(suite.clone())
                .map_err(|_| TlsError::CipherList(suite.clone()))?;
            // SAFETY: p is live; list is NUL-terminated and outlives the call.
            let rc = unsafe { sys::wolfSSL_set_cipher_list(p, list.as_ptr()) };
            if rc != sys::WOLFSSL_SUCCESS as c_int {
                return Err(TlsError::CipherList(format!(
                    "{suite}: {}",
                    ffi::reason(rc)
                )));
            }
            // SAFETY: p is live; the callback matches SessionSecretCb and its context is the
            // boxed DgramIo holding the master secret.
            let rc = unsafe { sys::wolfSSL_set_session_secret_cb(p, Some(secret_cb), io.cast()) };
            if rc != sys::WOLFSSL_SUCCESS as c_int {
                return Err(TlsError::Fatal {
                    code: rc,
                    reason: "secret callback refused".into(),
                });
            }
        }
        Ok(s)
    }

    /// A session on this context with its I/O callbacks, nonblocking mode and MTU set.
    fn session(&self, io: DgramIo, client: bool, mtu: u16) -> Result<DtlsSession, TlsError> {
        // SAFETY: the context is live and configured (kept alive by the clone stored below).
        let raw = unsafe { sys::wolfSSL_new(self.inner.0.as_ptr()) };
        let ssl = NonNull::new(raw).ok_or(TlsError::Alloc("a DTLS session"))?;
        let mut s = DtlsSession {
            ssl,
            io: Box::new(io),
            connected: false,
            client,
            _ctx: self.clone(),
        };
        let io: *mut DgramIo = &mut *s.io;
        let p = s.ssl.as_ptr();
        // SAFETY: p is live; callbacks match the CallbackIORecv/Send signatures; the context
        // pointer targets the boxed DgramIo, which lives as long as the session.
        unsafe { sys::wolfSSL_SSLSetIORecv(p, Some(recv_cb)) };
        // SAFETY: as above.
        unsafe { sys::wolfSSL_SSLSetIOSend(p, Some(send_cb)) };
        // SAFETY: as above.
        unsafe { sys::wolfSSL_SetIOReadCtx(p, io.cast()) };
        // SAFETY: as above.
        unsafe { sys::wolfSSL_SetIOWriteCtx(p, io.cast()) };
        // SAFETY: p is live; the cookie callback reads the secret from the same Io.
        unsafe { sys::wolfSSL_SetCookieCtx(p, io.cast()) };
        // SAFETY: p is live; the callback matches HandShakeDoneCb and its context is the same
        // boxed DgramIo, which lives as long as the session.
        unsafe { sys::wolfSSL_SetHsDoneCb(p, Some(dgram_handshake_done_cb), io.cast()) };
        // SAFETY: p is live; nonblocking mode makes wolfSSL return WANT_READ instead of waiting.
        unsafe { sys::wolfSSL_dtls_set_using_nonblock(p, 1) };
        // SAFETY: p is live.
        let rc = unsafe { sys::wolfSSL_dtls_set_mtu(p, mtu) };
        if rc != sys::WOLFSSL_SUCCESS as c_int {
            return Err(TlsError::Fatal {
                code: rc,
                reason: format!("DTLS MTU {mtu} refused"),
            });
        }
        Ok(s)
    }

    /// A DTLS 1.3 client context for test peers (wolfSSL's own client: no other DTLS 1.3
    /// OpenConnect peer exists).
    #[cfg(feature = "client")]
    pub fn client13() -> Result<Self, TlsError> {
        let handle = CtxHandle::new(Method::Dtls13Client)?;
        let ctx = handle.0.as_ptr();
        let list = std::ffi::CString::new(DTLS13_CIPHER_LIST).map_err(|_| TlsError::Export)?;
        // SAFETY: ctx is live; list is NUL-terminated and outlives the call.
        let rc = unsafe { sys::wolfSSL_CTX_set_cipher_list(ctx, list.as_ptr()) };
        if rc != sys::WOLFSSL_SUCCESS as c_int {
            return Err(TlsError::CipherList(ffi::reason(rc)));
        }
        Ok(Self {
            inner: Arc::new(handle),
            resume: false,
        })
    }

    /// A DTLS 1.3 client session (test peers only) keyed with `psk`, sending `identity` as its
    /// PSK identity and, with `cid`, asking the server for connection ids (`cid` is the id the
    /// client wants on the server's records). It offers an X25519 key share so its ClientHello
    /// fits one datagram.
    #[cfg(feature = "client")]
    pub fn new_client_session(
        &self,
        psk: [u8; 32],
        identity: &[u8],
        cid: Option<&mut [u8]>,
        mtu: u16,
    ) -> Result<DtlsSession, TlsError> {
        let mut s = self.session(
            DgramIo {
                psk,
                identity: identity.to_vec(),
                ..DgramIo::default()
            },
            true,
            mtu,
        )?;
        let p = s.ssl.as_ptr();
        // SAFETY: p is live; the callback matches wc_psk_client_tls13_callback and reads the
        // session's DgramIo through its read context.
        unsafe { sys::wolfSSL_set_psk_client_tls13_callback(p, Some(psk_client13_cb)) };
        // SAFETY: p is live; the group constant is one wolfSSL defines.
        let rc = unsafe { sys::wolfSSL_UseKeyShare(p, sys::WOLFSSL_ECC_X25519 as u16) };
        if rc != sys::WOLFSSL_SUCCESS as c_int {
            return Err(TlsError::CipherList(format!(
                "X25519 key share: {}",
                ffi::reason(rc)
            )));
        }
        if let Some(cid) = cid {
            s.use_cid(cid)?;
        }
        Ok(s)
    }
}

/// Per-session datagram queues and secrets, reached by the C callbacks through the I/O context.
#[derive(Default)]
struct DgramIo {
    /// Completed handshakes: 1 after the first, +1 per renegotiation (DTLS 1.2).
    handshakes: u32,
    psk: [u8; 32],
    master: Option<[u8; 48]>,
    cookie_secret: [u8; 32],
    /// The PSK identity a test client sends.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    identity: Vec<u8>,
    incoming: Vec<u8>,
    has_incoming: bool,
    out: Vec<u8>,
    out_lens: Vec<usize>,
}

/// One DTLS server session (`Send`, not `Sync`).
pub struct DtlsSession {
    ssl: NonNull<sys::WOLFSSL>,
    io: Box<DgramIo>,
    connected: bool,
    client: bool,
    _ctx: DtlsContext,
}

// SAFETY: see TlsSession: one owner at a time, every method takes &mut self.
unsafe impl Send for DtlsSession {}

impl std::fmt::Debug for DtlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtlsSession")
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

impl Drop for DtlsSession {
    fn drop(&mut self) {
        // SAFETY: allocated by wolfSSL_new, freed once, before the Io box it points to.
        unsafe { sys::wolfSSL_free(self.ssl.as_ptr()) };
    }
}

impl DtlsSession {
    /// Queues one received datagram (replacing any the session has not consumed).
    pub fn feed(&mut self, datagram: &[u8]) {
        self.io.incoming.clear();
        self.io.incoming.extend_from_slice(datagram);
        self.io.has_incoming = true;
    }

    /// Drives the handshake with the datagram fed last.
    pub fn handshake(&mut self) -> Result<HandshakeStatus, TlsError> {
        if self.connected {
            return Ok(HandshakeStatus::Done);
        }
        // SAFETY: ssl is live and exclusively borrowed through &mut self.
        if !unsafe { ffi::handshake(self.ssl, self.client) }? {
            return Ok(HandshakeStatus::WantRead);
        }
        // In resumption mode only an abbreviated handshake proves the client knows the master
        // secret; a full handshake would hand a session to anyone.
        // SAFETY: ssl is live; a pure getter.
        let reused = unsafe { sys::wolfSSL_session_reused(self.ssl.as_ptr()) } == 1;
        if self.io.master.is_some() && !reused {
            return Err(TlsError::Fatal {
                code: 0,
                reason: "DTLS client did not resume".into(),
            });
        }
        self.connected = true;
        Ok(HandshakeStatus::Done)
    }

    /// Whether the handshake completed.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Decrypts the datagram fed last into `buf` (one record). Undecryptable or replayed
    /// datagrams are dropped by wolfSSL and reported as `WantRead`.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<ReadOutcome, TlsError> {
        if !self.connected {
            return Err(TlsError::NotConnected);
        }
        // SAFETY: ssl is live, connected and exclusively borrowed through &mut self.
        unsafe { ffi::read(self.ssl, buf) }
    }

    /// Encrypts `payload` as one record into the outgoing datagrams.
    pub fn write(&mut self, payload: &[u8]) -> Result<(), TlsError> {
        if !self.connected {
            return Err(TlsError::NotConnected);
        }
        // SAFETY: ssl is live, connected and exclusively borrowed through &mut self.
        unsafe { ffi::write(self.ssl, payload) }
    }

    /// Hands every queued outgoing datagram to `send`, then empties the queue.
    pub fn drain_outgoing(&mut self, mut send: impl FnMut(&[u8])) {
        let mut start = 0;
        for &len in &self.io.out_lens {
            send(&self.io.out[start..start + len]);
            start += len;
        }
        self.io.out.clear();
        self.io.out_lens.clear();
    }

    /// Hands every queued outgoing datagram to `send` at once, laid out back to back in one
    /// buffer with their lengths (for `sendmmsg`), then empties the queue.
    pub fn drain_outgoing_batch(&mut self, send: impl FnOnce(&[u8], &[usize])) {
        if !self.io.out_lens.is_empty() {
            send(&self.io.out, &self.io.out_lens);
        }
        self.io.out.clear();
        self.io.out_lens.clear();
    }

    /// When the handshake retransmission timer should fire, if a handshake is in progress.
    pub fn timeout(&self) -> Option<Duration> {
        if self.connected {
            return None;
        }
        // SAFETY: ssl is live; a pure getter.
        let secs = unsafe { sys::wolfSSL_dtls_get_current_timeout(self.ssl.as_ptr()) };
        Some(Duration::from_secs(u64::try_from(secs).unwrap_or(1).max(1)))
    }

    /// Tells wolfSSL its retransmission timer fired (it may queue datagrams again).
    pub fn handle_timeout(&mut self) -> Result<(), TlsError> {
        // SAFETY: ssl is live and exclusively borrowed.
        let rc = unsafe { sys::wolfSSL_dtls_got_timeout(self.ssl.as_ptr()) };
        if rc == sys::WOLFSSL_SUCCESS as c_int || rc == sys::WOLFSSL_ERROR_WANT_READ as c_int {
            Ok(())
        } else {
            Err(TlsError::Fatal {
                code: rc,
                reason: "DTLS handshake gave up".into(),
            })
        }
    }

    /// Offers connection ids, asking the peer to put `cid` on the records it sends us.
    fn use_cid(&mut self, cid: &mut [u8]) -> Result<(), TlsError> {
        let p = self.ssl.as_ptr();
        // SAFETY: p is live and the handshake has not started.
        let rc = unsafe { sys::wolfSSL_dtls_cid_use(p) };
        if rc != sys::WOLFSSL_SUCCESS as c_int {
            return Err(TlsError::Fatal {
                code: rc,
                reason: "connection ids unavailable".into(),
            });
        }
        let len = c_uint::try_from(cid.len()).unwrap_or(c_uint::MAX);
        // SAFETY: p is live; wolfSSL copies `len` bytes from cid, which outlives the call.
        let rc = unsafe { sys::wolfSSL_dtls_cid_set(p, cid.as_mut_ptr(), len) };
        if rc != sys::WOLFSSL_SUCCESS as c_int {
            return Err(TlsError::Fatal {
                code: rc,
                reason: "connection id refused".into(),
            });
        }
        Ok(())
    }

    /// Completed handshakes: 1 once connected, one more per client renegotiation (DTLS 1.2).
    pub fn handshakes(&self) -> u32 {
        self.io.handshakes
    }

    /// Whether the handshake negotiated connection ids.
    pub fn cid_in_use(&self) -> bool {
        // SAFETY: ssl is live; pure getters.
        let enabled = unsafe { sys::wolfSSL_dtls_cid_is_enabled(self.ssl.as_ptr()) } == 1;
        let mut size: c_uint = 0;
        // SAFETY: ssl is live; size is a valid out pointer.
        let rc = unsafe { sys::wolfSSL_dtls_cid_get_rx_size(self.ssl.as_ptr(), &mut size) };
        enabled && rc == sys::WOLFSSL_SUCCESS as c_int && size > 0
    }

    /// The negotiated protocol version, e.g. `DTLSv1.2` or `DTLSv1.3`.
    pub fn version(&self) -> String {
        // SAFETY: ssl is live; returns a static string.
        ffi::owned(unsafe { sys::wolfSSL_get_version(self.ssl.as_ptr()) }).unwrap_or_default()
    }

    /// The negotiated suite, e.g. `PSK-AES256-GCM-SHA384`.
    pub fn cipher(&self) -> String {
        // SAFETY: ssl is live; returns a static string.
        ffi::owned(unsafe { sys::wolfSSL_get_cipher_name(self.ssl.as_ptr()) }).unwrap_or_default()
    }
}

/// Hands the fed datagram to wolfSSL once, whole.
unsafe extern "C" fn recv_cb(
    _: *mut sys::WOLFSSL,
    buf: *mut c_char,
    sz: c_int,
    ctx: *mut c_void,
) -> c_int {
    // SAFETY: ctx is the session's boxed DgramIo; wolfSSL calls back only from inside a method
    // holding &mut DtlsSession, so no other reference is live.
    let io = unsafe { &mut *ctx.cast::<DgramIo>() };
    if !io.has_incoming {
        return sys::IOerrors_WOLFSSL_CBIO_ERR_WANT_READ;
    }
    io.has_incoming = false;
    let n = io.incoming.len().min(usize::try_from(sz).unwrap_or(0));
    // SAFETY: wolfSSL's buffer is valid for `sz` bytes and n ≤ sz.
    let dst = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), n) };
    dst.copy_from_slice(&io.incoming[..n]);
    n as c_int
}

/// Queues one outgoing datagram.
unsafe extern "C" fn send_cb(
    _: *mut sys::WOLFSSL,
    buf: *mut c_char,
    sz: c_int,
    ctx: *mut c_void,
) -> c_int {
    // SAFETY: as in recv_cb.
    let io = unsafe { &mut *ctx.cast::<DgramIo>() };
    let n = usize::try_from(sz).unwrap_or(0);
    // SAFETY: wolfSSL passes a buffer valid for `sz` bytes of reads.
    let src = unsafe { std::slice::from_raw_parts(buf.cast::<u8>().cast_const(), n) };
    io.out.extend_from_slice(src);
    io.out_lens.push(n);
    sz
}

/// Supplies the session's PSK, whatever identity the client sent.
unsafe extern "C" fn psk_cb(
    ssl: *mut sys::WOLFSSL,
    _identity: *const c_char,
    key: *mut c_uchar,
    max: c_uint,
) -> c_uint {
    // SAFETY: ssl is the live session being handshaken; its read context is our DgramIo.
    let ctx = unsafe { sys::wolfSSL_GetIOReadCtx(ssl) };
    if ctx.is_null() || (max as usize) < 32 {
        return 0;
    }
    // SAFETY: ctx points to the session's DgramIo (see recv_cb for aliasing).
    let io = unsafe { &*ctx.cast::<DgramIo>() };
    // SAFETY: wolfSSL's key buffer holds `max` ≥ 32 bytes.
    let dst = unsafe { std::slice::from_raw_parts_mut(key, 32) };
    dst.copy_from_slice(&io.psk);
    32
}

/// A test client's DTLS 1.3 PSK: identity and key from the session's DgramIo, the one suite.
#[cfg(feature = "client")]
unsafe extern "C" fn psk_client13_cb(
    ssl: *mut sys::WOLFSSL,
    _hint: *const c_char,
    identity: *mut c_char,
    id_max: c_uint,
    key: *mut c_uchar,
    key_max: c_uint,
    suite: *mut *const c_char,
) -> c_uint {
    static SUITE: &std::ffi::CStr = c"TLS13-AES128-GCM-SHA256";
    // SAFETY: ssl is the live session being handshaken; its read context is our DgramIo.
    let ctx = unsafe { sys::wolfSSL_GetIOReadCtx(ssl) };
    if ctx.is_null() || (key_max as usize) < 32 {
        return 0;
    }
    // SAFETY: ctx points to the session's DgramIo (see recv_cb for aliasing).
    let io = unsafe { &*ctx.cast::<DgramIo>() };
    // wolfSSL's identity buffer holds id_max bytes plus a terminating NUL.
    if io.identity.len() > id_max as usize {
        return 0;
    }
    // SAFETY: identity is valid for id_max + 1 bytes and the identity fits (checked above).
    let dst =
        unsafe { std::slice::from_raw_parts_mut(identity.cast::<u8>(), io.identity.len() + 1) };
    dst[..io.identity.len()].copy_from_slice(&io.identity);
    dst[io.identity.len()] = 0;
    // SAFETY: key holds key_max ≥ 32 bytes.
    let k = unsafe { std::slice::from_raw_parts_mut(key, 32) };
    k.copy_from_slice(&io.psk);
    // SAFETY: suite is wolfSSL's out pointer; the string is static.
    unsafe { *suite = SUITE.as_ptr() };
    32
}

/// Supplies the client's announced master secret for the "resumed" session.
unsafe extern "C" fn secret_cb(
    _ssl: *mut sys::WOLFSSL,
    secret: *mut c_void,
    secret_len: *mut c_int,
    ctx: *mut c_void,
) -> c_int {
    if ctx.is_null() || secret.is_null() || secret_len.is_null() {
        return -1;
    }
    // SAFETY: ctx is the session's DgramIo (see recv_cb for aliasing).
    let io = unsafe { &*ctx.cast::<DgramIo>() };
    let Some(master) = io.master else { return -1 };
    // SAFETY: secret_len points to wolfSSL's length field for the secret buffer.
    let room = unsafe { *secret_len };
    if usize::try_from(room).unwrap_or(0) < master.len() {
        return -1;
    }
    // SAFETY: wolfSSL's secret buffer holds `room` ≥ 48 bytes.
    let dst = unsafe { std::slice::from_raw_parts_mut(secret.cast::<u8>(), master.len()) };
    dst.copy_from_slice(&master);
    // SAFETY: as above; wolfSSL reads back how many bytes were written.
    unsafe { *secret_len = master.len() as c_int };
    0
}

/// HelloVerifyRequest cookie: wolfSSL's default derives it from the socket's peer address, which
/// a memory-IO session does not have. The demultiplexer already bound the session to one peer, so
/// a per-session secret is enough to make the cookie unguessable.
unsafe extern "C" fn gen_cookie_cb(
    _: *mut sys::WOLFSSL,
    buf: *mut c_uchar,
    sz: c_int,
    ctx: *mut c_void,
) -> c_int {
    if ctx.is_null() {
        return -1;
    }
    // SAFETY: the cookie context is the session's DgramIo.
    let io = unsafe { &*ctx.cast::<DgramIo>() };
    let n = usize::try_from(sz).unwrap_or(0).min(32);
    // SAFETY: wolfSSL's buffer holds `sz` bytes and n ≤ sz.
    let dst = unsafe { std::slice::from_raw_parts_mut(buf, n) };
    dst.copy_from_slice(&io.cookie_secret[..n]);
    n as c_int
}

/// Counts completed DTLS handshakes (the first and every renegotiation).
unsafe extern "C" fn dgram_handshake_done_cb(_ssl: *mut sys::WOLFSSL, ctx: *mut c_void) -> c_int {
    // SAFETY: ctx is the boxed DgramIo registered when the session was made; wolfSSL calls back
    // only from inside a method holding &mut DtlsSession.
    let io = unsafe { &mut *ctx.cast::<DgramIo>() };
    io.handshakes = io.handshakes.saturating_add(1);
    0
}
