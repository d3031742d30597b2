//! The `bindgen!` output for each plugin API version the host serves, and nothing else.
//!
//! One module per served `major.minor`; a new incompatible version gets a module beside these,
//! its own `host/` implementations, and a variant in `engine::Api`.

/// `helpdesk:plugin@0.1.x`, from `plugins/wit`.
// The generated code uses `unsafe` to build typed function handles whose types it has just
// checked against the component; it is wasmtime's own, not ours.
#[allow(unsafe_code, unreachable_pub, missing_debug_implementations, unused)]
pub(crate) mod v0_1 {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../../plugins/wit",
    });
}
