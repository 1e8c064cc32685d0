//! Work for the libuv thread pool whose failures reach JS with their stable `code`.
//!
//! napi-rs hands a failed task's error to `reject` as a plain `Status` error, losing our
//! code (`ENOENT`, `ERR_HEAPSNAP_*`); this task keeps the coded error and rejects with it.

use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName};
use napi::{Env, Task};

/// Marks the code in a wasm task's rejection (see `reject`).
#[cfg(target_family = "wasm")]
const WASM_CODED: &str = "\u{1}heapsnap-code\u{1}";

type Work<T> = Box<dyn FnOnce() -> Result<T, napi::Error<String>> + Send>;

pub struct CodedTask<T> {
    work: Option<Work<T>>,
    /// The failure's (code, message), for `reject`.
    failure: Option<(String, String)>,
}

impl<T: ToNapiValue + TypeName + Send + 'static> CodedTask<T> {
    /// A promise of `work`'s result, computed on the libuv pool.
    pub fn spawn(work: impl FnOnce() -> Result<T, napi::Error<String>> + Send + 'static) -> AsyncTask<CodedTask<T>> {
        AsyncTask::new(CodedTask { work: Some(Box::new(work)), failure: None })
    }
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for CodedTask<T> {
    type Output = T;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<T> {
        let Some(work) = self.work.take() else {
            return Err(napi::Error::from_reason("heapsnap: task already ran"));
        };
        work().map_err(|err| {
            self.failure = Some((err.status.clone(), err.reason.clone()));
            napi::Error::from_reason(err.reason)
        })
    }

    fn resolve(&mut self, _env: Env, output: T) -> napi::Result<T> {
        Ok(output)
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<T> {
        // In the WebAssembly build napi-rs synthesizes a fresh `GenericFailure` error instead of
        // handing the coded one below back, so the code travels in the reason, between
        // WASM_CODED markers, and lib/loader/wasm.js rebuilds the same coded error.
        #[cfg(target_family = "wasm")]
        if let Some((code, message)) = self.failure.take() {
            let _ = env;
            return Err(napi::Error::from_reason(format!("{WASM_CODED}{code}{WASM_CODED}{message}")));
        }
        match self.failure.take() {
            Some((code, message)) => {
                let coded = napi::JsError::from(napi::Error::new(code, message)).into_unknown(env);
                Err(napi::Error::from(coded))
            }
            None => Err(err),
        }
    }
}
