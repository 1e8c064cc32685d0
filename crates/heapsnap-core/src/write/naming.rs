//! What snapshot files are called.
//!
//! Everything here is decided before any I/O, so a bad option fails fast with
//! `ERR_HEAPSNAP_INVALID_OPTION` instead of after V8 has spent seconds on a snapshot.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Local, Utc};

pub use crate::write::error::Error;
use crate::write::sink::Compression;

/// The name of a snapshot written with no path and no heapdump compatibility: sortable by
/// time, and unique per process through `{seq}`.
pub const DEFAULT_TEMPLATE: &str = "heapsnap-{date}-{time}-{pid}-{seq}.heapsnapshot";

/// The default name of a sampling heap profile (`stopSamplingHeapProfiler`).
pub const PROFILE_TEMPLATE: &str = "heapsnap-{date}-{time}-{pid}-{seq}.heapprofile";

const TOKENS: &str = "{pid} {tid} {seq} {date} {time} {iso} {hostname}";

/// Numbers the snapshots of this process, across threads, so two dumps in one
/// millisecond still get different names.
static SEQ: AtomicU64 = AtomicU64::new(0);

/// The facts a name may be made of, captured once per snapshot so every token in one
/// name agrees (and so tests can fix them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameContext {
    pub pid: u32,
    /// The JS thread: the worker's `threadId`, 0 on the main thread.
    pub tid: u32,
    pub seq: u64,
    pub now: DateTime<Local>,
    pub hostname: String,
}

impl NameContext {
    /// The context for the next snapshot of this process, taken by JS thread `tid`.
    pub fn now(tid: u32) -> NameContext {
        NameContext {
            pid: this_pid(),
            tid,
            seq: SEQ.fetch_add(1, Ordering::Relaxed) + 1,
            now: Local::now(),
            hostname: this_hostname(),
        }
    }
}

#[cfg(not(target_os = "wasi"))]
fn this_pid() -> u32 {
    std::process::id()
}

#[cfg(not(target_os = "wasi"))]
fn this_hostname() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// WASI has neither a pid nor a host name: the WebAssembly analyzer's loader passes the host
/// process's in the WASI environment (lib/loader/wasm.js).
#[cfg(target_os = "wasi")]
fn this_pid() -> u32 {
    std::env::var("HEAPSNAP_HOST_PID").ok().and_then(|p| p.parse().ok()).unwrap_or(0)
}

#[cfg(target_os = "wasi")]
fn this_hostname() -> String {
    std::env::var("HEAPSNAP_HOST_HOSTNAME").unwrap_or_else(|_| "localhost".to_string())
}

/// Expands `{pid} {tid} {seq} {date} {time} {iso} {hostname}` in `template`; `{{` and
/// `}}` stand for literal braces. Unknown tokens are errors rather than left as is: a
/// typo would otherwise silently become part of every file name.
pub fn expand_template(template: &str, ctx: &NameContext) -> Result<String, Error> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err(Error::invalid(format!(
                "unbalanced '}}' in path template '{template}'; write '}}}}' for a literal brace"
            )));
        }
        let Some(end) = tail.find('}').filter(|&end| !tail[1..end].contains('{')) else {
            return Err(Error::invalid(format!(
                "unbalanced '{{' in path template '{template}'; write '{{{{' for a literal brace"
            )));
        };
        let token = &tail[1..end];
        match token {
            "pid" => out.push_str(&ctx.pid.to_string()),
            "tid" => out.push_str(&ctx.tid.to_string()),
            "seq" => out.push_str(&ctx.seq.to_string()),
            "date" => out.push_str(&ctx.now.format("%Y%m%d").to_string()),
            "time" => out.push_str(&ctx.now.format("%H%M%S").to_string()),
            // Basic format (no colons), so the name is valid on every filesystem.
            "iso" => out.push_str(
                &ctx.now
                    .with_timezone(&Utc)
                    .format("%Y%m%dT%H%M%S%.3fZ")
                    .to_string(),
            ),
            // A hostname never holds these, but a name must not gain a directory or a NUL.
            "hostname" => {
                out.extend(
                    ctx.hostname
                        .chars()
                        .map(|c| if c == '/' || c == '\0' { '_' } else { c }),
                )
            }
            _ => return Err(Error::invalid(format!(
                "unknown token '{{{token}}}' in path template '{template}'; known tokens: {TOKENS}"
            ))),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// heapdump's default name shape, `heapdump-<ms>.<seq>.heapsnapshot`, relative to the
/// cwd: heapdump users' scripts and tests glob `heapdump-*.heapsnapshot`.
pub fn heapdump_default_name(ctx: &NameContext) -> String {
    format!(
        "heapdump-{}.{}.heapsnapshot",
        ctx.now.timestamp_millis(),
        ctx.seq
    )
}

/// The template a signal handler on JS thread `tid` uses, so that threads answering the same
/// signal never write the same file (and replace each other's dumps): a worker's fixed name
/// gets `-{tid}` before its extension (`app.heapsnapshot` -> `app-{tid}.heapsnapshot`). Names
/// that already tell threads or dumps apart (`{tid}`, `{seq}`) and the main thread's are kept.
pub fn per_thread_template(template: &str, tid: u32) -> std::borrow::Cow<'_, str> {
    if tid == 0 || template.contains("{tid}") || template.contains("{seq}") {
        return template.into();
    }
    let file_start = template.rfind('/').map_or(0, |slash| slash + 1);
    let file = &template[file_start..];
    let insert_at = file
        .find(".heapsnapshot")
        .or_else(|| file.rfind('.').filter(|&dot| dot > 0))
        .map_or(template.len(), |at| file_start + at);
    format!("{}-{{tid}}{}", &template[..insert_at], &template[insert_at..]).into()
}

/// A write as the JS options describe it, before anything is checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteRequest {
    /// A file name or template.
    pub path: Option<String>,
    /// Where relative names go; the cwd when absent.
    pub dir: Option<String>,
    /// `"gzip"`, `"zstd"` or `"none"`.
    pub compress: Option<String>,
    pub level: Option<i32>,
    /// With no path, use heapdump's name (`writeSnapshot()` and signal dumps).
    pub heapdump_default: bool,
}

/// A checked request: exactly what the sink will write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WritePlan {
    pub target: PathBuf,
    pub compression: Compression,
    /// The level the sink will use (the compression's default when none was given).
    pub level: Option<i32>,
}

/// Decides the target path and encoding of a write.
///
/// A name ending in `.gz` or `.zst` decides the compression; an explicit `compress` that
/// disagrees is an error, since either choice would surprise someone. A name without such
/// an ending is used as is, whatever the compression: we never rename what was asked for.
/// Generated names get the compression's extension.
pub fn plan(req: &WriteRequest, ctx: &NameContext) -> Result<WritePlan, Error> {
    plan_named(req, ctx, DEFAULT_TEMPLATE)
}

/// [`plan`] with another default name (`default_template`, used when no path is given and
/// `heapdump_default` is false), e.g. [`PROFILE_TEMPLATE`].
pub fn plan_named(req: &WriteRequest, ctx: &NameContext, default_template: &str) -> Result<WritePlan, Error> {
    let explicit = req
        .compress
        .as_deref()
        .map(str::parse::<Compression>)
        .transpose()?;
    let dir = match req.dir.as_deref() {
        Some(dir) => Some(checked("dir", dir)?),
        None => None,
    };
    let (name, compression) = match req.path.as_deref() {
        Some(path) => {
            let name = expand_template(checked("path", path)?, ctx)?;
            let compression = match (explicit, Compression::from_path(Path::new(&name))) {
                (None, inferred) => inferred.unwrap_or_default(),
                (Some(c), None) => c,
                (Some(c), Some(inferred)) if c == inferred => c,
                (Some(c), Some(inferred)) => return Err(Error::invalid(format!(
                    "compress '{c}' contradicts path '{name}', whose extension means {inferred}; \
                         drop the option or change the extension"
                ))),
            };
            (name, compression)
        }
        None => {
            let compression = explicit.unwrap_or_default();
            let base = if req.heapdump_default {
                heapdump_default_name(ctx)
            } else {
                expand_template(default_template, ctx)?
            };
            (base + compression.extension(), compression)
        }
    };
    let level = compression.resolve_level(req.level)?;
    let target = match dir {
        Some(dir) if Path::new(&name).is_relative() => Path::new(dir).join(name),
        _ => PathBuf::from(name),
    };
    Ok(WritePlan {
        target,
        compression,
        level,
    })
}

/// Rejects what no filesystem accepts, with the option's name in the message.
fn checked<'a>(option: &str, value: &'a str) -> Result<&'a str, Error> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{option} must not be empty")));
    }
    if value.contains('\0') {
        return Err(Error::invalid(format!(
            "{option} must not contain NUL bytes: {value:?}"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::error::INVALID_OPTION;

    #[test]
    fn workers_fixed_names_get_their_thread_id() {
        let cases = [
            ("app.heapsnapshot", 2, "app-{tid}.heapsnapshot"),
            ("/d.x/app.heapsnapshot.gz", 2, "/d.x/app-{tid}.heapsnapshot.gz"),
            ("dump.json", 5, "dump-{tid}.json"),
            ("/d.x/dump", 5, "/d.x/dump-{tid}"),
            (".hidden", 5, ".hidden-{tid}"),
            ("app.heapsnapshot", 0, "app.heapsnapshot"),
            ("w-{tid}.heapsnapshot", 2, "w-{tid}.heapsnapshot"),
            ("w-{seq}.heapsnapshot", 2, "w-{seq}.heapsnapshot"),
        ];
        for (template, tid, expected) in cases {
            assert_eq!(per_thread_template(template, tid), expected, "{template} on thread {tid}");
        }
    }
    use chrono::{TimeZone, Timelike};

    /// 2026-11-25 12:33:08.123 local time.
    fn ctx() -> NameContext {
        let now = Local
            .with_ymd_and_hms(2026, 11, 25, 12, 33, 8)
            .unwrap()
            .with_nanosecond(123_000_000)
            .unwrap();
        NameContext {
            pid: 4242,
            tid: 3,
            seq: 7,
            now,
            hostname: "box-1".into(),
        }
    }

    fn expand(t: &str) -> String {
        expand_template(t, &ctx()).unwrap()
    }

    fn invalid(result: Result<impl std::fmt::Debug, Error>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.code(), INVALID_OPTION, "{err}");
        err.to_string()
    }

    fn req(path: Option<&str>, dir: Option<&str>, compress: Option<&str>) -> WriteRequest {
        WriteRequest {
            path: path.map(Into::into),
            dir: dir.map(Into::into),
            compress: compress.map(Into::into),
            ..WriteRequest::default()
        }
    }

    #[test]
    fn every_token_expands() {
        assert_eq!(expand("{pid}"), "4242");
        assert_eq!(expand("{tid}"), "3");
        assert_eq!(expand("{seq}"), "7");
        assert_eq!(expand("{date}"), "20261125");
        assert_eq!(expand("{time}"), "123308");
        assert_eq!(expand("{hostname}"), "box-1");
        assert_eq!(
            expand("/d/{pid}-{tid}.{seq}.heapsnapshot"),
            "/d/4242-3.7.heapsnapshot"
        );
        assert_eq!(expand("no tokens"), "no tokens");
        assert_eq!(expand("{{pid}} }}"), "{pid} }");
    }

    #[test]
    fn iso_is_utc_basic_format() {
        let mut c = ctx();
        c.now = Utc
            .with_ymd_and_hms(2026, 11, 25, 12, 33, 8)
            .unwrap()
            .with_nanosecond(123_000_000)
            .unwrap()
            .into();
        assert_eq!(
            expand_template("{iso}", &c).unwrap(),
            "20261125T123308.123Z"
        );
    }

    #[test]
    fn hostname_cannot_escape_the_directory() {
        let c = NameContext {
            hostname: "a/b\0c".into(),
            ..ctx()
        };
        assert_eq!(expand_template("{hostname}", &c).unwrap(), "a_b_c");
    }

    #[test]
    fn bad_templates_are_invalid_options() {
        let msg = invalid(expand_template("a-{nope}.heapsnapshot", &ctx()));
        assert!(
            msg.contains("{nope}") && msg.contains("{hostname}"),
            "{msg}"
        );
        assert!(invalid(expand_template("a-{pid", &ctx())).contains("unbalanced '{'"));
        assert!(invalid(expand_template("a-pid}", &ctx())).contains("unbalanced '}'"));
        assert!(invalid(expand_template("a-{p{id}", &ctx())).contains("unbalanced '{'"));
        assert!(invalid(expand_template("{}", &ctx())).contains("unknown token '{}'"));
    }

    #[test]
    fn context_now_counts_up() {
        let a = NameContext::now(0);
        let b = NameContext::now(5);
        assert!(b.seq > a.seq);
        assert_eq!(a.pid, std::process::id());
        assert_eq!(b.tid, 5);
        assert!(!a.hostname.is_empty());
    }

    #[test]
    fn heapdump_name_matches_its_glob() {
        let c = ctx();
        let name = heapdump_default_name(&c);
        assert_eq!(
            name,
            format!("heapdump-{}.7.heapsnapshot", c.now.timestamp_millis())
        );
        assert!(name.starts_with("heapdump-") && name.ends_with(".heapsnapshot"));
    }

    #[test]
    fn plan_explicit_paths() {
        let p = plan(
            &req(Some("/tmp/a-{pid}.heapsnapshot"), Some("/ignored"), None),
            &ctx(),
        )
        .unwrap();
        assert_eq!(
            p,
            WritePlan {
                target: "/tmp/a-4242.heapsnapshot".into(),
                compression: Compression::None,
                level: None
            }
        );

        let p = plan(
            &req(Some("a.heapsnapshot"), Some("/var/dumps"), None),
            &ctx(),
        )
        .unwrap();
        assert_eq!(p.target, Path::new("/var/dumps/a.heapsnapshot"));

        let p = plan(&req(Some("a.heapsnapshot"), None, None), &ctx()).unwrap();
        assert_eq!(p.target, Path::new("a.heapsnapshot"));
    }

    #[test]
    fn plan_compression_from_name_and_option() {
        let c = |path: &str, compress: Option<&str>| plan(&req(Some(path), None, compress), &ctx());
        // The extension decides when no option is given.
        assert_eq!(
            c("a.heapsnapshot.gz", None).unwrap().compression,
            Compression::Gzip
        );
        assert_eq!(
            c("a.heapsnapshot.zst", None).unwrap().compression,
            Compression::Zstd
        );
        // An agreeing option is fine.
        assert_eq!(
            c("a.heapsnapshot.gz", Some("gzip")).unwrap().compression,
            Compression::Gzip
        );
        // No extension: the option decides and the name is kept exactly.
        let p = c("a.heapsnapshot", Some("gzip")).unwrap();
        assert_eq!(
            (p.target.as_path(), p.compression, p.level),
            (Path::new("a.heapsnapshot"), Compression::Gzip, Some(3))
        );
        assert_eq!(
            c("a.heapsnapshot", Some("none")).unwrap().compression,
            Compression::None
        );
        // Disagreement is an error either way round.
        assert!(invalid(c("a.heapsnapshot.gz", Some("zstd"))).contains("contradicts"));
        invalid(c("a.heapsnapshot.zst", Some("gzip")));
        invalid(c("a.heapsnapshot.gz", Some("none")));
        assert!(invalid(c("a.heapsnapshot", Some("brotli"))).contains("'brotli'"));
    }

    #[test]
    fn plan_default_names() {
        let p = plan(&req(None, None, None), &ctx()).unwrap();
        assert_eq!(
            p.target,
            Path::new("heapsnap-20261125-123308-4242-7.heapsnapshot")
        );

        let p = plan(&req(None, Some("/var/dumps"), Some("zstd")), &ctx()).unwrap();
        assert_eq!(
            p.target,
            Path::new("/var/dumps/heapsnap-20261125-123308-4242-7.heapsnapshot.zst")
        );
        assert_eq!((p.compression, p.level), (Compression::Zstd, Some(1)));

        let heapdump = WriteRequest {
            heapdump_default: true,
            ..WriteRequest::default()
        };
        let p = plan(&heapdump, &ctx()).unwrap();
        assert_eq!(p.target, PathBuf::from(heapdump_default_name(&ctx())));
        assert!(p.target.is_relative());

        let in_dir = WriteRequest {
            dir: Some("/d".into()),
            compress: Some("gzip".into()),
            ..heapdump
        };
        let p = plan(&in_dir, &ctx()).unwrap();
        assert_eq!(
            p.target,
            Path::new("/d").join(heapdump_default_name(&ctx()) + ".gz")
        );
    }

    #[test]
    fn plan_levels() {
        let with = |compress: Option<&str>, level| {
            plan(
                &WriteRequest {
                    level: Some(level),
                    ..req(Some("a.heapsnapshot"), None, compress)
                },
                &ctx(),
            )
        };
        assert_eq!(with(Some("gzip"), 9).unwrap().level, Some(9));
        assert_eq!(with(Some("zstd"), 19).unwrap().level, Some(19));
        assert!(invalid(with(Some("gzip"), 10)).contains("out of range"));
        invalid(with(Some("gzip"), -1));
        invalid(with(Some("zstd"), 0));
        invalid(with(Some("zstd"), 20));
        assert!(invalid(with(None, 3)).contains("without compression"));
        invalid(with(Some("none"), 3));
    }

    #[test]
    fn plan_rejects_unusable_strings() {
        assert!(
            invalid(plan(&req(Some(""), None, None), &ctx())).contains("path must not be empty")
        );
        assert!(invalid(plan(&req(Some("a\0b"), None, None), &ctx())).contains("NUL"));
        assert!(invalid(plan(&req(None, Some(""), None), &ctx())).contains("dir must not be empty"));
        assert!(invalid(plan(&req(None, Some("/d\0"), None), &ctx())).contains("NUL"));
        assert!(invalid(plan(&req(Some("{bad}"), None, None), &ctx())).contains("{bad}"));
    }
}
