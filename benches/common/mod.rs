//! What the benchmarks share: each size runs in a child process of the
//! bench binary (so the peak memory of one size is not another's), which
//! prints its measurements as whitespace-separated numbers.

// Each bench includes this module and uses its own part of it.
#![allow(dead_code)]

use std::process::Command;

/// `--sizes 100,1000` from the command line, else `default`.
pub fn sizes(args: &[String], default: &[usize]) -> Vec<usize> {
    args.iter()
        .position(|a| a == "--sizes")
        .and_then(|p| args.get(p + 1))
        .map(|list| list.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

/// Runs this bench binary with `--child` and `args`; the numbers it printed,
/// or why there are none (the child's stderr).
pub fn child_numbers(args: &[&str]) -> Result<Vec<f64>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let output = Command::new(exe).arg("--child").args(args).output().map_err(|e| format!("child: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&output.stdout).split_whitespace().filter_map(|f| f.parse().ok()).collect())
}

/// Prints how `what` grew from the previous size measured (if any) to
/// `size` taking `ms`, and makes this one the previous.
pub fn print_growth(previous: &mut Option<(usize, f64)>, size: usize, ms: f64, what: &str) {
    if let Some((before, before_ms)) = *previous {
        println!(
            "{:>9} growth vs {before}: size x{:.1}, {what} time x{:.1}",
            "",
            size as f64 / before as f64,
            ms / before_ms
        );
    }
    *previous = Some((size, ms));
}

/// Peak resident set size of this process in KiB (`VmHWM`), 0 if unknown.
pub fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
