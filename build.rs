//! Build script: links the `platform-desk` binary with packed relative relocations
//! (DT_RELR) when this machine's C toolchain and C library can run such a binary.
//!
//! Why: the binary is position-independent, and its ~47,000 relative relocations take
//! 1.1 MB of `.rela.dyn` that the loader reads at every start and that stays resident.
//! Packed, they take about 20 KB: about 1 MiB less idle RSS, whose target is 15 MiB
//! (`cargo bench --bench load`). glibc understands DT_RELR from 2.36 on, and a binary
//! linked with it refuses to start on an older glibc. So the script first links a tiny C
//! program with the flag and runs it; if anything in that fails (an older glibc or
//! linker, no C compiler, a cross build), the binary is linked as before.

use std::env;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const FLAG: &str = "-Wl,-z,pack-relative-relocs";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=PLATFORM_DESK_NO_RELR");
    if env::var_os("PLATFORM_DESK_NO_RELR").is_some() {
        return;
    }
    let target = env::var("TARGET").unwrap_or_default();
    let host = env::var("HOST").unwrap_or_default();
    if target != host || !target.ends_with("-linux-gnu") {
        return;
    }
    if packed_relocations_run() {
        println!("cargo:rustc-link-arg-bins={FLAG}");
    }
}

/// Links a PIE with the flag and runs it: true only if both work here.
fn packed_relocations_run() -> bool {
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let source = out.join("relr_probe.c");
    let program = out.join("relr_probe");
    // Relative relocations the loader must apply: pointers to statics in a static table,
    // several of them so that the linker packs them (and asks for glibc's DT_RELR support).
    let code = "static int a = 1, b = 2, c = 3, d = 4;\n\
                static int *const t[8] = {&a, &b, &c, &d, &a, &b, &c, &d};\n\
                int main(void) { return *t[7] + *t[0] == 5 ? 0 : 1; }\n";
    if std::fs::write(&source, code).is_err() {
        return false;
    }
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let linked = Command::new(cc)
        .args(["-fPIE", "-pie", FLAG, "-o"])
        .arg(&program)
        .arg(&source)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    linked
        && Command::new(&program)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}
