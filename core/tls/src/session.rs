//! One server-side TLS connection in memory-IO style.

use std::ffi::{c_char, c_int, c_void};
use std::ptr::NonNull;

use wolfssl_sys as sys;

use std::sync::Arc;

use crate::context::CtxHandle;
use crate::{TlsError, ffi};

/// Progress of [`TlsSession::handshake`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum HandshakeStatus {
    /// The handshake finished; application data may flow.
    Done,
    /// wolfSSL needs more bytes from the peer (drain [`TlsSession::outgoing`] first).
    WantRead,
}

/// Result of [`TlsSession::read`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum ReadOutcome {
    /// This many plaintext bytes were written to the buffer.
    Data(usize),
    /// No complete record is buffered; feed more ciphertext.
    WantRead,
    /// The peer sent close_notify or its transport ended.
    Closed,
}

/// The byte queues wolfSSL's I/O callbacks read from and write to.
#[derive(Default)]
struct Io {
    /// Completed handshakes: 1 after the first, +1 per renegotiation (TLS 1.2).
    handshakes: u32,
    incoming: Vec<u8>,
    read_pos: usize,
    eof: bool,
    outgoing: Vec<u8>,
}

/// The server side of one TLS connection (`Send`, not `Sync`: one task owns it).
pub struct TlsSession {
    ssl: NonNull<sys::WOLFSSL>,
    // Boxed so its address stays fixed: wolfSSL holds a raw pointer to it as the I/O context.
    io: Box<Io>,
    arrays_kept: bool,
    exported: bool,
    connected: bool,
    /// The client side of a connection (test peers only); servers accept.
    client: bool,
    // Keeps the context alive as long as the session (wolfSSL also counts references).
    _ctx: Arc<CtxHandle>,
}

// SAFETY: a WOLFSSL object may move between threads as long as only one uses it at a time, which
// `&mut self` on every method guarantees; the Io box moves with it. `TlsSession` is not `Sync`.
unsafe impl Send for TlsSession {}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

impl Drop for TlsSession {
    fn drop(&mut self) {
        // SAFETY: ssl came from wolfSSL_new and is freed exactly once; the Io box it points to is
        // dropped only after this (fields drop after Drop::drop returns).
        unsafe { sys::wolfSSL_free(self.ssl.as_ptr()) };
    }
}

impl TlsSession {
    pub(crate) fn new(owner: Arc<CtxHandle>, client: bool) -> Result<Self, TlsError> {
        // SAFETY: the context is live and configured, kept alive by `owner`.
        let raw = unsafe { sys::wolfSSL_new(owner.0.as_ptr()) };
        let ssl = NonNull::new(raw).ok_or(TlsError::Alloc("a TLS session"))?;
        let mut session = Self {
            ssl,
            io: Box::default(),
            arrays_kept: true,
            exported: false,
            connected: false,
            client,
            _ctx: owner,
        };
        let io_ptr: *mut Io = &mut *session.io;
        let ssl = session.ssl.as_ptr();
        // SAFETY: ssl is live; the callbacks match wolfSSL's CallbackIORecv/Send signatures and
        // the context pointer targets the boxed Io, which lives exactly as long as `session`.
        unsafe {
            sys::wolfSSL_SSLSetIORecv(ssl, Some(recv_cb));
        }
        // SAFETY: as above.
        unsafe {
            sys::wolfSSL_SSLSetIOSend(ssl, Some(send_cb));
        }
        // SAFETY: as above.
        unsafe {
            sys::wolfSSL_SetIOReadCtx(ssl, io_ptr.cast());
        }
        // SAFETY: as above.
        unsafe {
            sys::wolfSSL_SetIOWriteCtx(ssl, io_ptr.cast());
        }
        // The exporter reads the handshake secrets, which wolfSSL frees after the handshake
        // unless asked to keep them; `release_secrets` frees them where that is safe.
        // SAFETY: ssl is live and the handshake has not started.
        unsafe { sys::wolfSSL_KeepArrays(ssl) };
        // SAFETY: ssl is live; the callback matches HandShakeDoneCb and its context is the boxed
        // Io, reached only from inside calls that hold &mut TlsSession.
        unsafe { sys::wolfSSL_SetHsDoneCb(ssl, Some(handshake_done_cb), io_ptr.cast()) };
        if !client {
            // `X-CSTP-Rekey-Method: ssl` on TLS 1.2 means the client renegotiates; RFC 5746
            // makes that safe (TLS 1.3 clients send KeyUpdate instead, which needs nothing).
            // SAFETY: ssl is live and the handshake has not started.
            let rc = unsafe { sys::wolfSSL_UseSecureRenegotiation(ssl) };
            if rc != sys::WOLFSSL_SUCCESS as c_int {
                return Err(TlsError::Fatal {
                    code: rc,
                    reason: "secure renegotiation unavailable".into(),
                });
            }
        }
        Ok(session)
    }

    /// Queues ciphertext received from the peer.
    pub fn feed(&mut self, ciphertext: &[u8]) {
        let io = &mut self.io;
        if io.read_pos > 0 && io.read_pos == io.incoming.len() {
            io.incoming.clear();
            io.read_pos = 0;
        } else if io.read_pos > 64 * 1024 {
            io.incoming.drain(..io.read_pos);
            io.read_pos = 0;
        }
        io.incoming.extend_from_slice(ciphertext);
    }

    /// Records that the peer's transport has ended (no more ciphertext will arrive).
    pub fn feed_eof(&mut self) {
        self.io.eof = true;
    }

    /// Ciphertext waiting to be sent to the peer.
    pub fn outgoing(&self) -> &[u8] {
        &self.io.outgoing
    }

    /// Marks the first `n` bytes of [`Self::outgoing`] as sent.
    pub fn consume_outgoing(&mut self, n: usize) {
        let n = n.min(self.io.outgoing.len());
        self.io.outgoing.drain(..n);
    }

    /// Whether ciphertext is waiting to be sent.
    pub fn wants_write(&self) -> bool {
        !self.io.outgoing.is_empty()
    }

    /// Drives the handshake with the bytes fed so far.
    pub fn handshake(&mut self) -> Result<HandshakeStatus, TlsError> {
        if !self.connected {
            // SAFETY: ssl is live and exclusively borrowed through &mut self; I/O goes through
            // the in-memory callbacks.
            self.connected = unsafe { ffi::handshake(self.ssl, self.client) }?;
        }
        Ok(if self.connected {
            HandshakeStatus::Done
        } else {
            HandshakeStatus::WantRead
        })
    }

    /// Whether the handshake has completed.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Decrypts buffered records into `buf`.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<ReadOutcome, TlsError> {
        if !self.connected {
            return Err(TlsError::NotConnected);
        }
        // SAFETY: ssl is live, connected and exclusively borrowed through &mut self.
        Ok(match unsafe { ffi::read(self.ssl, buf) }? {
            // No more input will come once the transport ended.
            ReadOutcome::WantRead if self.io.eof => ReadOutcome::Closed,
            other => other,
        })
    }

    /// Encrypts `plaintext` as one TLS record (it must not exceed 16384 bytes) into the outgoing
    /// queue. CSTP requires one frame per record, so callers pass exactly one frame.
    pub fn write(&mut self, plaintext: &[u8]) -> Result<(), TlsError> {
        if !self.connected {
            return Err(TlsError::NotConnected);
        }
        if plaintext.is_empty() {
            return Ok(());
        }
        // SAFETY: ssl is live, connected and exclusively borrowed through &mut self.
        unsafe { ffi::write(self.ssl, plaintext) }
    }

    /// Queues a close_notify alert.
    pub fn shutdown(&mut self) {
        if self.connected {
            // SAFETY: ssl is live; a failed shutdown only means no alert is queued.
            unsafe { sys::wolfSSL_shutdown(self.ssl.as_ptr()) };
        }
    }

    /// RFC 5705 keying material without context (what openconnect's PSK-NEGOTIATE uses), e.g.
    /// 32 bytes with label [`crate::OPENCONNECT_PSK_LABEL`]. One export per session: the
    /// handshake secrets are released afterwards where that is safe, and a second call fails.
    pub fn export_keying_material(&mut self, label: &str, len: usize) -> Result<Vec<u8>, TlsError> {
        if !self.connected {
            return Err(TlsError::NotConnected);
        }
        if !self.arrays_kept || self.exported {
            return Err(TlsError::Export);
        }
        self.exported = true;
        let mut out = vec![0u8; len];
        // SAFETY: ssl is live with its arrays kept; out and label are valid for the given
        // lengths; a NULL context with use_context = 0 is the RFC 5705 "no context" form.
        let rc = unsafe {
            sys::wolfSSL_export_keying_material(
                self.ssl.as_ptr(),
                out.as_mut_ptr(),
                out.len(),
                label.as_ptr().cast(),
                label.len(),
                std::ptr::null(),
                0,
                0,
            )
        };
        self.release_secrets();
        if rc == sys::WOLFSSL_SUCCESS as c_int {
            Ok(out)
        } else {
            Err(TlsError::Export)
        }
    }

    /// Frees the handshake secrets kept for the exporter (call when no export is needed). Only
    /// on TLS 1.3: a TLS 1.2 session may be renegotiated, and wolfSSL 5.9.4 dereferences the
    /// freed arrays when a renegotiating ClientHello arrives (a NULL-pointer crash of the whole
    /// daemon, found by `tls12_client_renegotiation_rekeys_in_place`). They stay until the
    /// session ends there.
    pub fn release_secrets(&mut self) {
        // SAFETY: ssl is live; a pure getter.
        let tls13 =
            unsafe { sys::wolfSSL_GetVersion(self.ssl.as_ptr()) } == sys::WOLFSSL_TLSV1_3 as c_int;
        if self.arrays_kept && self.connected && tls13 {
            // SAFETY: ssl is live; FreeArrays is idempotent on wolfSSL's side but we call it once.
            unsafe { sys::wolfSSL_FreeArrays(self.ssl.as_ptr()) };
            self.arrays_kept = false;
        }
    }

    /// Completed handshakes: 1 once connected, one more per client renegotiation (TLS 1.2).
    pub fn handshakes(&self) -> u32 {
        self.io.handshakes
    }

    /// The negotiated protocol, e.g. `TLSv1.3`.
    pub fn protocol(&self) -> String {
        // SAFETY: ssl is live; the returned string is static.
        ffi::owned(unsafe { sys::wolfSSL_get_version(self.ssl.as_ptr()) }).unwrap_or_default()
    }

    /// The negotiated cipher suite name, e.g. `TLS_AES_256_GCM_SHA384`.
    pub fn cipher(&self) -> String {
        // SAFETY: ssl is live; the returned string is static.
        ffi::owned(unsafe { sys::wolfSSL_get_cipher_name(self.ssl.as_ptr()) }).unwrap_or_default()
    }

    /// The negotiated key-exchange group, e.g. `X25519`, when wolfSSL reports one.
    pub fn group(&self) -> Option<String> {
        // SAFETY: ssl is live; the returned string is static or NULL.
        ffi::owned(unsafe { sys::wolfSSL_get_curve_name(self.ssl.as_ptr()) })
    }
}

/// Counts completed handshakes (the first and every renegotiation).
unsafe extern "C" fn handshake_done_cb(_ssl: *mut sys::WOLFSSL, ctx: *mut c_void) -> c_int {
    // SAFETY: ctx is the boxed Io registered in TlsSession::new; wolfSSL calls back only from
    // inside a method holding &mut TlsSession.
    let io = unsafe { &mut *ctx.cast::<Io>() };
    io.handshakes = io.handshakes.saturating_add(1);
    0
}

/// wolfSSL's receive callback: hands out buffered ciphertext.
unsafe extern "C" fn recv_cb(
    _ssl: *mut sys::WOLFSSL,
    buf: *mut c_char,
    sz: c_int,
    ctx: *mut c_void,
) -> c_int {
    // SAFETY: ctx is the boxed Io registered in TlsSession::new; wolfSSL only calls back from
    // inside a method holding &mut TlsSession, so no other reference to it is live.
    let io = unsafe { &mut *ctx.cast::<Io>() };
    let available = io.incoming.len() - io.read_pos;
    if available == 0 {
        return if io.eof {
            sys::IOerrors_WOLFSSL_CBIO_ERR_CONN_CLOSE
        } else {
            sys::IOerrors_WOLFSSL_CBIO_ERR_WANT_READ
        };
    }
    let n = available.min(usize::try_from(sz).unwrap_or(0));
    // SAFETY: wolfSSL passes a buffer valid for `sz` bytes; n ≤ sz and n ≤ available.
    let dst = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), n) };
    dst.copy_from_slice(&io.incoming[io.read_pos..io.read_pos + n]);
    io.read_pos += n;
    n as c_int
}

/// wolfSSL's send callback: appends ciphertext to the outgoing queue, always in full.
unsafe extern "C" fn send_cb(
    _ssl: *mut sys::WOLFSSL,
    buf: *mut c_char,
    sz: c_int,
    ctx: *mut c_void,
) -> c_int {
    // SAFETY: as in recv_cb.
    let io = unsafe { &mut *ctx.cast::<Io>() };
    let n = usize::try_from(sz).unwrap_or(0);
    // SAFETY: wolfSSL passes a buffer valid for reads of `sz` bytes.
    let src = unsafe { std::slice::from_raw_parts(buf.cast::<u8>().cast_const(), n) };
    io.outgoing.extend_from_slice(src);
    sz
}
