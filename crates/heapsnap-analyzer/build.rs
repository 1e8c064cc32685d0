//! Plain N-API: nothing to compile against Node's headers, so one build loads on every Node.
fn main() {
    napi_build::setup();
}
