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

    let v8_major = v8_major_version(&include);
    println!("cargo:rustc-env=HEAPSNAP_V8_MAJOR={v8_major}");
    cc::Build::new()
        .cpp(true)
        .file("src/v8/shim.cc")
        .include(&include)
        // V8 13 (Node 24) headers require C++20; older ones build as C++17, as Node itself does.
        .std(if v8_major >= 13 { "c++20" } else { "c++17" })
        // Node's own flags: V8 is built without RTTI and exceptions.
        .flag("-fno-rtti")
        .flag("-fno-exceptions")
        .flag_if_supported("-Wno-unused-parameter")
        .compile("heapsnap_shim");
}

/// V8_MAJOR_VERSION from the headers' v8-version.h.
fn v8_major_version(include: &Path) -> u32 {
    let header = include.join("v8-version.h");
    let text = std::fs::read_to_string(&header).unwrap_or_else(|err| panic!("heapsnap: cannot read {}: {err}", header.display()));
    text.lines()
        .find_map(|line| line.strip_prefix("#define V8_MAJOR_VERSION")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("heapsnap: no V8_MAJOR_VERSION in {}", header.display()))
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
