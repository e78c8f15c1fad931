//! DTLS 1.2 servers for the OpenConnect data channel, in datagram memory-IO style.
//!
//! Two ways to key a session, chosen per tunnel at CONNECT time:
//! - **PSK-NEGOTIATE** (openconnect ≥ 7.08): the key is the 32-byte `EXPORTER-openconnect-psk`
//!   value of the CSTP TLS session; the client's PSK identity (always `psk`) is ignored.
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

    /// A context accepting [`PSK_CIPHER_LIST`].
    pub fn new() -> Result<Self, TlsError> {
        let handle = CtxHandle::new(Method::Dtls12)?;
        let ctx = handle.0.as_ptr();
        // The CTX-level callback must exist before wolfSSL_new on a context without a
        // certificate, or wolfSSL_new fails.
        // SAFETY: ctx is live; psk_cb matches wc_psk_server_callback.
        unsafe { sys::wolfSSL_CTX_set_psk_server_callback(ctx, Some(psk_cb)) };
        // SAFETY: ctx is live; gen_cookie_cb matches CallbackGenCookie.
        unsafe { sys::wolfSSL_CTX_SetGenCookie(ctx, Some(gen_cookie_cb)) };
        let list = std::ffi::CString::new(PSK_CIPHER_LIST).map_err(|_| TlsError::Export)?;
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

    /// A server session keyed with `psk`. `mtu` bounds one datagram (headers of IP and UDP
    /// excluded); records larger than it are refused by [`DtlsSession::write`].
    pub fn new_session(
        &self,
        keys: DtlsKeys,
        cookie_secret: [u8; 32],
        mtu: u16,
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
        // SAFETY: the context is live and configured (kept alive by the clone stored below).
        let raw = unsafe { sys::wolfSSL_new(self.inner.0.as_ptr()) };
        let ssl = NonNull::new(raw).ok_or(TlsError::Alloc("a DTLS session"))?;
        let mut s = DtlsSession {
            ssl,
            io: Box::new(DgramIo {
                psk,
                master,
                cookie_secret,
                ..DgramIo::default()
            }),
            connected: false,
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
}

/// Per-session datagram queues and secrets, reached by the C callbacks through the I/O context.
#[derive(Default)]
struct DgramIo {
    psk: [u8; 32],
    master: Option<[u8; 48]>,
    cookie_secret: [u8; 32],
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
        if !unsafe { ffi::accept(self.ssl) }? {
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
