//! The one export macro.

/// Exports a plugin type: `export_plugin!(MyPlugin, auth, filter, logging, transport)`, naming
/// the kinds it implements ([`AuthPlugin`](crate::AuthPlugin) for `auth`,
/// [`FilterPlugin`](crate::FilterPlugin) for `filter`, [`LogPlugin`](crate::LogPlugin) for
/// `logging`, [`TransportPlugin`](crate::TransportPlugin) for `transport`).
///
/// On native targets it emits the abi_stable root module (the crate must be a `cdylib` and
/// depend on `abi_stable`, whose macro names it by absolute path); on `wasm32` it emits the
/// component's exports of the WIT world `wolfguard:plugin/plugin`. Use it once per crate.
#[macro_export]
macro_rules! export_plugin {
    ($ty:ty $(, $kind:ident)* $(,)?) => {
        impl $crate::rt::Exported for $ty {
            fn hooks() -> $crate::rt::Hooks<Self> {
                $crate::rt::Hooks::<Self>::new() $( .$kind() )*
            }
        }
        $crate::__export_target!($ty);
    };
}

#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __export_target {
    ($ty:ty) => {
        // `export_root_module` emits an unsafe `#[unsafe(no_mangle)]` static (undocumented) and
        // an unsafe constructor call next to the function: the macro's own unsafe, not ours,
        // confined to this module.
        #[allow(unsafe_code, missing_docs)]
        #[doc(hidden)]
        mod __wolfguard_native {
            // `$ty` is named as written at the call site, one module up.
            #[allow(unused_imports)]
            use super::*;

            /// The abi_stable root module of this native plugin.
            #[$crate::native::abi_stable::export_root_module]
            pub fn wolfguard_plugin_root_module() -> $crate::api::native::PluginModRef {
                $crate::native::root_module::<$ty>()
            }
        }
    };
}

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[macro_export]
macro_rules! __export_target {
    ($ty:ty) => {
        // wit-bindgen's `export!` emits `unsafe extern "C"` exports with `export_name`: the
        // macro's own unsafe, confined to this module.
        #[allow(unsafe_code)]
        #[doc(hidden)]
        mod __wolfguard_component {
            // `$ty` is named as written at the call site, one module up.
            #[allow(unused_imports)]
            use super::*;
            use $crate::wasm::bindings::exports::wolfguard::plugin::hooks as h;
            use $crate::wasm::types as t;

            static STATE: $crate::wasm::Slot<$ty> = $crate::wasm::Slot::new();

            struct Component;

            impl h::Guest for Component {
                fn describe() -> t::Manifest {
                    $crate::wasm::manifest::<$ty>()
                }
                fn instantiate(settings: String) -> Result<(), String> {
                    STATE.instantiate(&settings)
                }
                fn auth_begin(req: t::AuthRequest) -> Result<t::AuthStep, String> {
                    STATE.auth(req, $crate::api::Hook::AuthBegin)
                }
                fn auth_continue(req: t::AuthRequest) -> Result<t::AuthStep, String> {
                    STATE.auth(req, $crate::api::Hook::AuthContinue)
                }
                fn filter_connect(info: t::ConnectInfo) -> Result<t::Verdict, String> {
                    STATE.filter_connect(info)
                }
                fn filter_packets(
                    batch: t::PacketBatch,
                ) -> Result<Vec<t::PacketVerdict>, String> {
                    STATE.filter_packets(batch)
                }
                fn log_event(event: t::Event) {
                    STATE.log_event(event)
                }
                fn transport_listeners() -> Vec<t::Listener> {
                    STATE.listeners()
                }
                fn filter_auth_failure(failure: t::AuthFailure) -> Result<t::Verdict, String> {
                    STATE.filter_auth_failure(failure)
                }
                fn extension(hook: String, input: Vec<u8>) -> Result<Vec<u8>, String> {
                    STATE.extension(&hook, &input)
                }
            }

            $crate::wasm::bindings::export!(Component with_types_in $crate::wasm::bindings);
        }
    };
}
