//! Calling a JS function from native code and catching whatever it throws.
//!
//! napi-rs's `Function::call` turns a throw into a Rust error by taking a reference to the
//! thrown value, which N-API < 10 refuses for primitives (`throw 'oops'` would become
//! "Create Error reference failed"); here the thrown value comes back as it was.

use std::ptr;

use napi::bindgen_prelude::{Function, JsValue, ToNapiValue, Unknown};
use napi::sys;

/// What a call did: returned a value or threw one.
pub enum Outcome<'env> {
    Returned(Unknown<'env>),
    Threw(Unknown<'env>),
}

/// Calls `function(argument)` with `this` undefined.
pub fn call_catching<'env>(function: &Function<'env>, argument: u32) -> napi::Result<Outcome<'env>> {
    let raw = function.value();
    let env = raw.env;
    // SAFETY: `env` and `raw.value` come from a live `Function` of the current callback
    // scope; every out-pointer is a local that N-API writes once; values returned by N-API
    // belong to that same scope, which outlives 'env.
    unsafe {
        let mut this = ptr::null_mut();
        napi::check_status!(sys::napi_get_undefined(env, &mut this))?;
        let args = [u32::to_napi_value(env, argument)?];
        let mut result = ptr::null_mut();
        match sys::napi_call_function(env, this, raw.value, args.len(), args.as_ptr(), &mut result) {
            sys::Status::napi_ok => Ok(Outcome::Returned(Unknown::from_raw_unchecked(env, result))),
            sys::Status::napi_pending_exception => {
                let mut thrown = ptr::null_mut();
                napi::check_status!(sys::napi_get_and_clear_last_exception(env, &mut thrown))?;
                Ok(Outcome::Threw(Unknown::from_raw_unchecked(env, thrown)))
            }
            status => Err(napi::Error::new(napi::Status::from(status), "calling the scenario failed".to_owned())),
        }
    }
}
