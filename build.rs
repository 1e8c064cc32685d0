//! Builds the C++ shim (src/v8/shim.cc) against the headers of the Node.js that will load
//! the addon. V8's C++ API is not ABI-stable across majors, so the headers must match the
//! running node: we look where npm and node tell us before falling back to the system copy.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    napi_build::setup();

    println!("cargo:rerun-if-changed=src/v8/shim.cc");
    for var in ["HEAPSNAP_NODE_INCLUDE", "npm_config_nodedir", "HEAPSNAP_NODE", "npm_node_execpath"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let include = find_node_headers().unwrap_or_else(|tried| {
        panic!(
            "heapsnap: cannot find Node.js headers (v8-profiler.h). Looked in:\n  {}\n\
             Set HEAPSNAP_NODE_INCLUDE to the folder holding node_version.h, or npm_config_nodedir to a Node install.",
            tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join("\n  ")
        )
    });
    println!("cargo:rerun-if-changed={}", include.join("node_version.h").display());
    println!("cargo:rustc-env=HEAPSNAP_NODE_INCLUDE={}", include.display());

    cc::Build::new()
        .cpp(true)
        .file("src/v8/shim.cc")
        .include(&include)
        .std("c++17")
        // Node's own flags: V8 is built without RTTI and exceptions.
        .flag("-fno-rtti")
        .flag("-fno-exceptions")
        .flag_if_supported("-Wno-unused-parameter")
        .compile("heapsnap_shim");
}

/// Candidate header folders, most specific first.
fn find_node_headers() -> Result<PathBuf, Vec<PathBuf>> {
    let mut candidates = Vec::new();
    if let Some(dir) = env::var_os("HEAPSNAP_NODE_INCLUDE") {
        candidates.push(PathBuf::from(dir));
    }
    if let Some(dir) = env::var_os("npm_config_nodedir") {
        candidates.push(Path::new(&dir).join("include/node"));
    }
    if let Some(exec) = node_exec_path() {
        if let Some(prefix) = exec.parent().and_then(Path::parent) {
            candidates.push(prefix.join("include/node"));
        }
    }
    candidates.push(PathBuf::from("/usr/include/node"));
    candidates
        .iter()
        .find(|dir| dir.join("v8-profiler.h").is_file() && dir.join("node_version.h").is_file())
        .cloned()
        .ok_or(candidates)
}

/// The node binary the addon is being built for: the one that runs our build script or npm,
/// else whatever `node` is on PATH.
fn node_exec_path() -> Option<PathBuf> {
    for var in ["HEAPSNAP_NODE", "npm_node_execpath"] {
        if let Some(path) = env::var_os(var) {
            return Some(PathBuf::from(path));
        }
    }
    let out = Command::new("node").args(["-p", "process.execPath"]).output().ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}
