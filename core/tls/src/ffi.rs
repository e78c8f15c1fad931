//! Small helpers around raw wolfSSL calls shared by the context and the session.

use std::ffi::{CStr, c_int};
use std::ptr::NonNull;
use std::sync::OnceLock;

use wolfssl_sys as sys;

use crate::{ReadOutcome, TlsError};

/// Initialises the library once per process.
pub(crate) fn init() -> Result<(), TlsError> {
    static INIT: OnceLock<c_int> = OnceLock::new();
    // SAFETY: wolfSSL_Init has no preconditions; OnceLock guarantees a single call.
    let rc = *INIT.get_or_init(|| unsafe { sys::wolfSSL_Init() });
    if rc == sys::WOLFSSL_SUCCESS as c_int {
        Ok(())
    } else {
        Err(TlsError::Init(rc))
    }
}

/// wolfSSL's text for an error code.
pub(crate) fn reason(code: c_int) -> String {
    let mut buf = [0 as std::ffi::c_char; 256];
    // SAFETY: the buffer is larger than WOLFSSL_MAX_ERROR_SZ (80) as the function requires, and
    // wolfSSL NUL-terminates what it writes into it.
    unsafe { sys::wolfSSL_ERR_error_string_n(code as _, buf.as_mut_ptr(), buf.len() as _) };
    // SAFETY: the buffer was zeroed and wolfSSL writes a NUL-terminated string shorter than it.
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) };
    text.to_string_lossy().into_owned()
}

/// Converts a borrowed C string returned by wolfSSL into an owned String.
pub(crate) fn owned(ptr: *const std::ffi::c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null pointers returned by the wolfSSL name getters point to static,
    // NUL-terminated strings.
    Some(
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned(),
    )
}

fn fatal(ssl: NonNull<sys::WOLFSSL>, rc: c_int) -> TlsError {
    // SAFETY: callers pass the live session whose call returned `rc`.
    let e = unsafe { sys::wolfSSL_get_error(ssl.as_ptr(), rc) };
    TlsError::Fatal {
        code: e,
        reason: reason(e),
    }
}

/// Runs the server (or, for test peers, the client) handshake as far as the buffered input
/// allows: `Ok(true)` when done.
///
/// # Safety
/// `ssl` must be a live session that the caller borrows exclusively for the call.
pub(crate) unsafe fn handshake(ssl: NonNull<sys::WOLFSSL>, client: bool) -> Result<bool, TlsError> {
    let rc = if client {
        // SAFETY: the caller guarantees a live, exclusively borrowed session.
        unsafe { sys::wolfSSL_connect(ssl.as_ptr()) }
    } else {
        // SAFETY: as above.
        unsafe { sys::wolfSSL_accept(ssl.as_ptr()) }
    };
    if rc == sys::WOLFSSL_SUCCESS as c_int {
        return Ok(true);
    }
    // SAFETY: as above; get_error only reads state the previous call left.
    let e = unsafe { sys::wolfSSL_get_error(ssl.as_ptr(), rc) };
    if e == sys::WOLFSSL_ERROR_WANT_READ as c_int || e == sys::WOLFSSL_ERROR_WANT_WRITE as c_int {
        Ok(false)
    } else {
        Err(TlsError::Fatal {
            code: e,
            reason: reason(e),
        })
    }
}

/// Decrypts one record into `buf`.
///
/// # Safety
/// `ssl` must be a live, connected session that the caller borrows exclusively for the call.
pub(crate) unsafe fn read(
    ssl: NonNull<sys::WOLFSSL>,
    buf: &mut [u8],
) -> Result<ReadOutcome, TlsError> {
    let len = c_int::try_from(buf.len()).unwrap_or(c_int::MAX);
    // SAFETY: the caller guarantees the session; buf is valid for writes of `len` bytes.
    let rc = unsafe { sys::wolfSSL_read(ssl.as_ptr(), buf.as_mut_ptr().cast(), len) };
    if rc > 0 {
        return Ok(ReadOutcome::Data(rc as usize));
    }
    // SAFETY: as above.
    let e = unsafe { sys::wolfSSL_get_error(ssl.as_ptr(), rc) };
    match e {
        e if e == sys::WOLFSSL_ERROR_WANT_READ as c_int => Ok(ReadOutcome::WantRead),
        e if e == sys::WOLFSSL_ERROR_ZERO_RETURN as c_int
            || e == sys::wolfSSL_ErrorCodes_SOCKET_PEER_CLOSED_E
            || e == sys::WOLFSSL_ERROR_SYSCALL as c_int =>
        {
            Ok(ReadOutcome::Closed)
        }
        e => Err(TlsError::Fatal {
            code: e,
            reason: reason(e),
        }),
    }
}

/// Encrypts `data` as one record into the session's outgoing queue.
///
/// # Safety
/// `ssl` must be a live, connected session that the caller borrows exclusively for the call.
pub(crate) unsafe fn write(ssl: NonNull<sys::WOLFSSL>, data: &[u8]) -> Result<(), TlsError> {
    let len = c_int::try_from(data.len()).map_err(|_| TlsError::Fatal {
        code: 0,
        reason: "record too large".into(),
    })?;
    // SAFETY: the caller guarantees the session; data is valid for reads of `len` bytes. The
    // memory send callbacks accept everything, so wolfSSL never returns WANT_WRITE here.
    let rc = unsafe { sys::wolfSSL_write(ssl.as_ptr(), data.as_ptr().cast(), len) };
    if rc == len {
        Ok(())
    } else {
        Err(fatal(ssl, rc))
    }
}
