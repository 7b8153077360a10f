//! `stackc explain CODE|TOPIC`: print a diagnostic code's page (what it
//! means, why, an example, how to fix) or a topic's page (how a feature
//! behaves: `stackc explain rollout`); `--list` lists every code with its
//! summary, `--topics` every topic. Without any, it says the ways (exit 2,
//! a usage error).
//!
//! A topic is named in full or by a prefix that only it has (`rollout`
//! finds `rollout-kubernetes` while it is the only `rollout...` topic), so
//! a topic added later beside it makes the short name list both instead of
//! silently changing meaning. A topic's page is a page of `docs/`, embedded,
//! so the command and the documentation cannot disagree.

use stackc_compiler::Code;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A diagnostic code, e.g. E0203, or a topic, e.g. rollout.
    pub code: Option<String>,
    /// List every code with its summary.
    #[arg(long, conflicts_with_all = ["code", "topics"])]
    pub list: bool,
    /// List every topic with its summary.
    #[arg(long, conflicts_with = "code")]
    pub topics: bool,
}

/// A page about a feature rather than a diagnostic.
pub struct Topic {
    pub name: &'static str,
    pub summary: &'static str,
    pub page: &'static str,
}

/// Every topic, by name.
pub const TOPICS: &[Topic] = &[
    Topic {
        name: "rollout-kubernetes",
        summary: "What the kubernetes manifests do for each rollout strategy (rolling, blue_green, canary)",
        page: include_str!("../../docs/rollouts-kubernetes.md"),
    },
    Topic {
        name: "progressive-delivery",
        summary: "Rollouts on local and aws: a new version in planned, gated steps (stackc rollout status|promote|abort|undo)",
        page: include_str!("../../docs/rollouts.md"),
    },
];

/// What `asked` names among the topics: one topic, several (a prefix that
/// more than one has), or none.
fn find_topics(asked: &str) -> Vec<&'static Topic> {
    let asked = asked.trim().to_ascii_lowercase();
    if let Some(topic) = TOPICS.iter().find(|t| t.name == asked) {
        return vec![topic];
    }
    if asked.is_empty() {
        return Vec::new();
    }
    TOPICS.iter().filter(|t| t.name.starts_with(&asked)).collect()
}

/// Whether `asked` is written like a diagnostic code (`E` and digits).
fn looks_like_code(asked: &str) -> bool {
    let asked = asked.trim();
    asked.len() > 1
        && asked.as_bytes()[0].eq_ignore_ascii_case(&b'e')
        && asked[1..].bytes().all(|b| b.is_ascii_digit())
}

fn print_page(out: &mut dyn Write, page: &str) {
    let newline = if page.ends_with('\n') { "" } else { "\n" };
    let _ = write!(out, "{page}{newline}");
}

pub fn run(args: Args) -> ExitCode {
    // Write errors (a closed pipe, as in `stackc explain --list | head`) end
    // the output quietly instead of panicking like `println!` would.
    let mut out = std::io::stdout().lock();
    if args.list {
        for code in Code::ALL {
            if writeln!(out, "{code}  {:<7}  {}", code.severity().as_str(), code.summary()).is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    if args.topics {
        let width = TOPICS.iter().map(|t| t.name.len()).max().unwrap_or(0);
        for topic in TOPICS {
            if writeln!(out, "{:<width$}  {}", topic.name, topic.summary).is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    let Some(asked) = args.code else {
        // A usage error, with the way out: the exit code of every usage error.
        eprintln!(
            "error: which diagnostic code or topic? `stackc explain E0203` prints a code's page, `stackc \
             explain rollout` a topic's; `stackc explain --list` lists every code with its summary, `--topics` \
             every topic"
        );
        return ExitCode::from(crate::EXIT_USAGE);
    };
    if let Some(code) = Code::parse(&asked) {
        print_page(&mut out, code.page());
        return ExitCode::SUCCESS;
    }
    match find_topics(&asked).as_slice() {
        [topic] => {
            print_page(&mut out, topic.page);
            ExitCode::SUCCESS
        }
        [] if looks_like_code(&asked) => {
            eprintln!("error: unknown diagnostic code `{asked}`");
            let upper = asked.trim().to_ascii_uppercase();
            let suggestion =
                stackc_compiler::diagnostic::did_you_mean(&upper, Code::ALL.iter().map(|c| c.as_str()));
            match suggestion {
                Some(help) => eprintln!("  help: {help}"),
                None => eprintln!("  help: `stackc explain --list` lists every code"),
            }
            ExitCode::from(1)
        }
        [] => {
            eprintln!("error: no diagnostic code or topic is called `{asked}`");
            let lower = asked.trim().to_ascii_lowercase();
            match stackc_compiler::diagnostic::did_you_mean(&lower, TOPICS.iter().map(|t| t.name)) {
                Some(help) => eprintln!("  help: {help}"),
                None => eprintln!(
                    "  help: `stackc explain --topics` lists every topic, `stackc explain --list` every code"
                ),
            }
            ExitCode::from(1)
        }
        several => {
            eprintln!("error: `{asked}` begins the name of several topics; which one?");
            for topic in several {
                eprintln!("  {}  {}", topic.name, topic.summary);
            }
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_is_found_by_its_name_or_a_prefix_only_it_has() {
        let names = |asked: &str| find_topics(asked).iter().map(|t| t.name).collect::<Vec<_>>();
        assert_eq!(names("rollout-kubernetes"), ["rollout-kubernetes"]);
        assert_eq!(names("Rollout"), ["rollout-kubernetes"]);
        assert_eq!(names("roll"), ["rollout-kubernetes"]);
        assert!(names("").is_empty() && names("kubernetes").is_empty());
        assert_eq!(names("progressive"), ["progressive-delivery"]);
    }

    #[test]
    fn code_like_words_are_told_from_topics() {
        assert!(looks_like_code("E0230") && looks_like_code("e12"));
        assert!(!looks_like_code("rollout") && !looks_like_code("E") && !looks_like_code("E02x"));
    }

    #[test]
    fn topic_names_are_unique_lowercase_words() {
        for (i, topic) in TOPICS.iter().enumerate() {
            assert!(topic.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{}", topic.name);
            assert!(TOPICS[..i].iter().all(|t| t.name != topic.name), "{}", topic.name);
            assert!(topic.page.starts_with("# "), "{}: a page starts with its title", topic.name);
        }
    }
}
