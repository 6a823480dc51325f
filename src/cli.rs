//! The command line: global connection flags and one subcommand per job.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ROOT_EXAMPLES: &str = "\
Examples:
  # Show the blue/green pair behind the production Service `blueservice`
  kubectl bluegreen status blueservice

  # The same pair in another namespace, through a specific kubeconfig and context
  kubectl bluegreen status web -n shop --kubeconfig ~/.kube/prod --context prod-eu

  # Move its traffic to the idle colour, verify, scale the old colour down after 30s
  kubectl bluegreen promote blueservice

  # Go back to the previous colour recorded in the Service's journal
  kubectl bluegreen rollback blueservice

Exit codes:
  0 success, 1 internal error, 2 usage error, 3 configuration error,
  4 not found / not a blue/green pair, 5 preconditions not met, 6 verification failed
  (traffic put back), 7 conflict, 8 API or connection error, 9 unauthorized/forbidden,
  130 interrupted";

const STATUS_EXAMPLES: &str = "\
Examples:
  # Both colours side by side, with the verdict for the next promote
  kubectl bluegreen status blueservice

  # Add each colour's selector and the production Service's endpoint addresses
  kubectl bluegreen status blueservice -o wide

  # For scripts: the documented JSON document (apiVersion bluegreen.dev/v1alpha1)
  kubectl bluegreen status blueservice -o json | jq -r .verdict.summary

  # A selector like `color: v1` with colours named v1 and v2
  kubectl bluegreen status shop --label color --colors v1,v2

  # Redraw whenever pods, Deployments, Services or endpoints change
  kubectl bluegreen status blueservice --watch";

/// What `--version` prints: the crate version and the git commit it was built from (`unknown`
/// when built outside a git checkout; see `build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BLUEGREEN_GIT_COMMIT"),
    ")"
);

/// Safe, observable, reversible blue/green releases on plain Kubernetes Deployments and Services.
///
/// Everything is addressed through the production Service: its selector picks the live colour,
/// and the Deployment of the other colour is the idle one.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-bluegreen",
    bin_name = "kubectl bluegreen",
    version = VERSION,
    propagate_version = true,
    after_help = ROOT_EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags that say which cluster to talk to and how; they mean what they mean to kubectl.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Cluster options")]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (default: the current context)
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// Namespace of the pair (default: the context's namespace, else `default`)
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,

    /// Time limit for each API request, e.g. 30s, 1m; 0 means no limit
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        default_value = "30s",
        value_parser = parse_timeout
    )]
    pub request_timeout: Timeout,

    /// Show the API requests made (-v), and more detail (-vv); never credentials
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never colour the output (colour is also off when stdout is not a terminal, with NO_COLOR or TERM=dumb)
    #[arg(long, global = true)]
    pub no_color: bool,
}

/// A `--request-timeout` value: `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Option<Duration>);

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a shell completion script for `kubectl-bluegreen` (bash, zsh, fish, powershell)
    #[command(
        display_order = 1000,
        after_help = crate::cmd::completion::EXAMPLES,
        after_long_help = crate::cmd::completion::LONG_HELP
    )]
    Completion(crate::cmd::completion::CompletionArgs),

    /// Show both colours of a pair side by side, which one is live, and whether promoting is safe
    #[command(after_help = STATUS_EXAMPLES)]
    Status(StatusArgs),

    /// List every blue/green pair of the namespace: live colour, images, readiness, release in progress, verdict
    #[command(after_help = LIST_EXAMPLES, long_about = LIST_ABOUT)]
    List(ListArgs),

    /// Move production traffic to the idle colour, verify it, and clean up the colour it left
    #[command(after_help = PROMOTE_EXAMPLES)]
    Promote(PromoteArgs),

    /// Move production traffic back to the colour the journal records as previously live
    #[command(after_help = ROLLBACK_EXAMPLES)]
    Rollback(ReleaseArgs),

    /// Apply the cleanup policy to the idle colour now (never to the live one)
    #[command(after_help = CLEANUP_EXAMPLES)]
    Cleanup(ReleaseArgs),
}

const LIST_ABOUT: &str = "\
List every blue/green pair of the namespace: live colour, images, readiness, release in progress, verdict

A pair is a Service that `status` accepts as a production Service: a selector with one entry whose
value is a colour (see --label, --colors). Services whose selectors differ only in the colour
address the same two Deployments and are listed once, under the production Service:
  1. a Service a journal names as a test Service, entry point or Service moved along is not a pair;
  2. of the others, each Service with a journal (released by this plugin) is a pair;
  3. with no journal, the one whose name contains no colour, then the one selecting the first
     colour of --colors, then the first by name.
The others are its test Services or other entry points, which `status` shows. Services without
a selector, ExternalName Services and Services without a colour value are skipped.

Reads one list each of Services, Deployments, EndpointSlices and HorizontalPodAutoscalers, and the
pods by colour key and colour, concurrently; nothing per pair. No pair found: a message on stderr and exit 0 (an empty `items` list with
-o json|yaml).";

const LIST_EXAMPLES: &str = "\
Examples:
  # Every pair of the current namespace, one line each, with the verdict for its next command
  kubectl bluegreen list

  # Every pair of every namespace (adds a NAMESPACE column)
  kubectl bluegreen list -A

  # Pairs whose selector key `track` holds v1 or v2
  kubectl bluegreen list -n shop --label track --colors v1,v2

  # For scripts: the documented JSON document (kind PairList); the pairs safe to promote
  kubectl bluegreen list -o json | jq -r '.items[] | select(.verdict.safe) | .service'";

const PROMOTE_EXAMPLES: &str = "\
Examples:
  # Show the plan, confirm, flip blueservice to the idle colour, verify, scale the old one down
  kubectl bluegreen promote blueservice

  # In CI: no question; wait up to 10 minutes for the new colour to become ready first
  kubectl bluegreen promote blueservice --yes --wait --timeout 10m

  # Do it the way the manual procedure does: delete the old Deployment and test Service
  kubectl bluegreen promote blueservice --cleanup delete

  # Print the plan and the exact requests, change nothing (--dry-run=server: let the API server validate them)
  kubectl bluegreen promote blueservice --dry-run";

const ROLLBACK_EXAMPLES: &str = "\
Examples:
  # Bring the previous colour back (scale up or re-create it), wait until it is available, flip back
  kubectl bluegreen rollback blueservice

  # Keep the colour it leaves running
  kubectl bluegreen rollback blueservice --yes --cleanup none";

const CLEANUP_EXAMPLES: &str = "\
Examples:
  # After `promote --cleanup none`, or to finish an interrupted promote
  kubectl bluegreen cleanup blueservice

  # Delete the old colour's Deployment and test Service(s), saving them for rollback
  kubectl bluegreen cleanup blueservice --cleanup delete --yes";

/// `--dry-run` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Print the plan and the requests; send nothing that changes anything
    Client,
    /// Also send the changes with the API server's dry-run (dryRun=All); nothing is stored
    Server,
}

/// Arguments shared by `promote`, `rollback` and `cleanup`.
#[derive(Debug, Clone, Args)]
pub struct ReleaseArgs {
    /// The production Service whose selector picks the live colour
    #[arg(value_name = "SERVICE")]
    pub service: String,

    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Show the plan and the exact requests without changing anything
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "client"
    )]
    pub dry_run: Option<DryRun>,

    /// How long to wait for readiness (--wait, rollback) and for the endpoints to move; 0 means no limit
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_timeout)]
    pub timeout: Timeout,

    /// Skip the readiness checks of the colour that takes the traffic (says what it skipped)
    #[arg(long)]
    pub force: bool,

    /// What to do with the colour traffic left [default: scale-down; for `cleanup`, the pending policy]
    #[arg(long, value_enum, value_name = "POLICY")]
    pub cleanup: Option<crate::plan::CleanupPolicy>,

    /// Accept a risk the release otherwise refuses (repeatable, or comma-separated)
    #[arg(long, value_enum, value_name = "RISK", value_delimiter = ',')]
    pub allow: Vec<crate::plan::Risk>,

    /// Move another Service that selects the live colour along with the production one, in the same release (repeatable)
    #[arg(long, value_name = "SERVICE", value_delimiter = ',')]
    pub also_flip: Vec<String>,

    /// How long to keep the old colour after the flip before cleaning it up, because kube-proxy on every node needs time to notice [default: 30s; when finishing an interrupted release, what is left of its delay]
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub scale_down_delay: Option<Timeout>,

    #[command(flatten)]
    pub pair: PairArgs,
}

/// Arguments of `promote`.
#[derive(Debug, Clone, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,

    /// Wait (up to --timeout) for the idle colour to become ready instead of refusing
    #[arg(long)]
    pub wait: bool,

    /// The colour that must end up live; when the Service already selects it, there is nothing to do
    #[arg(long, value_name = "COLOUR")]
    pub to: Option<String>,
}

/// Arguments of `status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The production Service whose selector picks the live colour
    #[arg(value_name = "SERVICE")]
    pub service: String,

    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// Keep running and redraw whenever the pair changes
    #[arg(short = 'w', long)]
    pub watch: bool,

    #[command(flatten)]
    pub pair: PairArgs,
}

/// Arguments of `list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// List the pairs of every namespace (-n is then ignored)
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,

    #[command(flatten)]
    pub pair: PairArgs,
}

/// Formats of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// One line per pair
    Table,
    /// The documented JSON document (kind PairList)
    Json,
    /// The same document as YAML
    Yaml,
}

/// How to recognise the two colours in the production Service's selector.
#[derive(Debug, Clone, Args)]
pub struct PairArgs {
    /// The selector key that carries the colour (default: the key whose value is one of the colours)
    #[arg(long, value_name = "KEY", value_parser = parse_label_key)]
    pub label: Option<String>,

    /// The two colour values
    #[arg(
        long,
        value_name = "A,B",
        default_value = "blue,green",
        value_parser = parse_colours
    )]
    pub colors: Colours,
}

/// The two colour values, in display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colours(pub [String; 2]);

impl Default for Colours {
    fn default() -> Self {
        Colours(["blue".to_string(), "green".to_string()])
    }
}

/// Formats of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Both colours side by side and one row per pod
    Table,
    /// The table plus each colour's selector, the endpoint addresses and the journal
    Wide,
    /// The documented JSON document
    Json,
    /// The same document as YAML
    Yaml,
}

fn parse_colours(value: &str) -> Result<Colours, String> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [a, b] if !a.is_empty() && !b.is_empty() && a != b => {
            for colour in [a, b] {
                if !is_label_value(colour) {
                    return Err(format!(
                        "{colour:?} is not a valid label value: a colour is 1-63 characters of \
                         letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
                    ));
                }
            }
            Ok(Colours([a.to_string(), b.to_string()]))
        }
        [a, b] if a == b && !a.is_empty() => Err("the two colours must differ".to_string()),
        _ => Err("expected two colours separated by a comma, e.g. blue,green".to_string()),
    }
}

/// A Kubernetes label value: up to 63 of `[A-Za-z0-9._-]`, starting and ending alphanumeric.
fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    !value.is_empty()
        && value.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A label key as Kubernetes validates it (a qualified name): an optional DNS subdomain prefix
/// of up to 253 characters and a `/`, then a name of up to 63 of `[A-Za-z0-9._-]` starting and
/// ending alphanumeric.
fn parse_label_key(value: &str) -> Result<String, String> {
    let (prefix, name) = match value.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, value),
    };
    if name.contains('/') {
        return Err(format!(
            "{value:?} is not a valid label key: it may contain one '/' (prefix/name, e.g. bluegreen.example.com/colour)"
        ));
    }
    if let Some(prefix) = prefix
        && !is_dns_subdomain(prefix)
    {
        return Err(format!(
            "{value:?} is not a valid label key: the prefix {prefix:?} must be a DNS subdomain \
             (lower-case letters, digits, '-' and '.', at most 253 characters)"
        ));
    }
    if name.len() > 63 {
        return Err(format!(
            "{value:?} is not a valid label key: the name part is {} characters long, at most 63 are allowed",
            name.len()
        ));
    }
    if !is_label_value(name) {
        return Err(format!(
            "{value:?} is not a valid label key: the name must be 1-63 characters of letters, digits, \
             '-', '_' and '.', starting and ending with a letter or digit (e.g. app, color, track)"
        ));
    }
    Ok(value.to_string())
}

/// A DNS-1123 subdomain: dot-separated lower-case alphanumeric labels with inner dashes, at most
/// 253 characters.
fn is_dns_subdomain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            let bytes = label.as_bytes();
            !label.is_empty()
                && label.len() <= 63
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
                && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        })
}

/// Parses a duration as kubectl's `--request-timeout` does: a bare integer is seconds, `0` is
/// no limit, otherwise units such as `500ms`, `30s`, `1m`, `1m30s`, `1h`.
fn parse_timeout(value: &str) -> Result<Timeout, String> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Ok(Timeout((seconds > 0).then(|| Duration::from_secs(seconds))));
    }
    let parsed: jiff::SignedDuration = value
        .parse()
        .map_err(|_| format!("{value:?} is not a duration; use units, e.g. 30s, 1m, 1m30s"))?;
    if parsed.is_negative() {
        return Err("the timeout cannot be negative".to_string());
    }
    let duration = parsed.unsigned_abs();
    Ok(Timeout((!duration.is_zero()).then_some(duration)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn timeouts_parse_like_kubectl() {
        let secs = |s| Timeout(Some(Duration::from_secs(s)));
        assert_eq!(parse_timeout("30s"), Ok(secs(30)));
        assert_eq!(parse_timeout("1m"), Ok(secs(60)));
        assert_eq!(parse_timeout("1m30s"), Ok(secs(90)));
        assert_eq!(parse_timeout("1h"), Ok(secs(3600)));
        assert_eq!(parse_timeout("15"), Ok(secs(15)));
        assert_eq!(
            parse_timeout("500ms"),
            Ok(Timeout(Some(Duration::from_millis(500))))
        );
        assert_eq!(parse_timeout("0"), Ok(Timeout(None)));
        assert_eq!(parse_timeout("0s"), Ok(Timeout(None)));
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("-1s").is_err());
    }

    #[test]
    fn colours_need_two_distinct_label_values() {
        assert_eq!(
            parse_colours("v1,v2"),
            Ok(Colours(["v1".into(), "v2".into()]))
        );
        assert!(parse_colours("blue").is_err());
        assert!(parse_colours("blue,blue").is_err());
        assert!(parse_colours("a,b,c").is_err());
        assert!(parse_colours("a,").is_err());
        assert!(parse_colours("a,b c").is_err());
    }

    #[test]
    fn label_keys_are_qualified_names() {
        let long_name = "x".repeat(63);
        let long_prefix = format!("{}.example.com", "a".repeat(60));
        for ok in [
            "app",
            "color",
            "app.kubernetes.io/version",
            "bluegreen.example.com/colour-track_1",
            long_name.as_str(),
        ] {
            assert_eq!(parse_label_key(ok).as_deref(), Ok(ok));
        }
        assert!(parse_label_key(&format!("{long_prefix}/c")).is_ok());
        for bad in [
            "",
            "app color",
            "/app",
            "app/",
            "a/b/c",
            "-app",
            "app-",
            "Example.com/app",
            "exa_mple.com/app",
        ] {
            assert!(parse_label_key(bad).is_err(), "{bad:?} accepted");
        }
        let too_long = format!("{long_name}x");
        assert!(
            parse_label_key(&too_long)
                .expect_err("64 characters")
                .contains("at most 63")
        );
        let prefix_too_long = format!("{}/app", "a.".repeat(127) + "a");
        assert!(parse_label_key(&prefix_too_long).is_err());
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "kubectl-bluegreen",
            "status",
            "web",
            "-n",
            "shop",
            "--context",
            "prod",
            "-vv",
            "-o",
            "json",
        ])
        .expect("valid command line");
        assert_eq!(cli.global.namespace.as_deref(), Some("shop"));
        assert_eq!(cli.global.context.as_deref(), Some("prod"));
        assert_eq!(cli.global.verbose, 2);
        let Command::Status(status) = cli.command else {
            panic!("expected status");
        };
        assert_eq!(status.output, OutputFormat::Json);
        assert_eq!(status.pair.colors, Colours::default());
    }
}
