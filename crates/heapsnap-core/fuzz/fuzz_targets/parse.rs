#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    heapsnap_core_fuzz::run(data);
});
