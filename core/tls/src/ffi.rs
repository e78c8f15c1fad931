//! Small helpers around raw wolfSSL calls shared by the context and the session.

use std::ffi::{CStr, c_int};
use std::sync::OnceLock;

use wolfssl_sys as sys;

use crate::TlsError;

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
