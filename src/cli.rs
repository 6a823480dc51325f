//! The command line: global connection flags and one subcommand per job.

pub mod complete;
pub mod completion;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::plan::{CleanupPolicy, Risk};
use crate::render::OutputFormat;

const ROOT_EXAMPLES: &str = "\
Examples:
  # Show the blue/green pair behind the production Service `blueservice`
  kubectl bluegreen status blueservice

  # A pair in another namespace, through a specific kubeconfig and context
  kubectl bluegreen status web -n shop --kubeconfig ~/.kube/prod --context eu

  # Move its traffic to the idle colour, verify, scale the old one down later
  kubectl bluegreen promote blueservice

  # Go back to the previous colour recorded in the Service's journal
  kubectl bluegreen rollback blueservice

Exit codes:
  0 success, 1 internal error, 2 usage error, 3 configuration error,
  4 not found / not a blue/green pair, 5 preconditions not met,
  6 verification failed (traffic put back), 7 conflict, 8 API or connection error,
  9 unauthorized/forbidden, 130 interrupted";

const STATUS_EXAMPLES: &str = "\
Examples:
  # Both colours side by side, with the verdict for the next promote
  kubectl bluegreen status blueservice

  # Add each colour's selector and the production Service's endpoints
  kubectl bluegreen status blueservice -o wide

  # For scripts: the documented JSON (apiVersion bluegreen.dev/v1alpha1)
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
    pub command: CommandArgs,
}

impl Cli {
    /// Parses a command line as the binary does. kubectl writes its verbosity as a level
    /// (`-v=6`, `-v 6`, `--v=6`); here `-v` is a counted flag, so a level is first rewritten
    /// into counted flags: 1-5 into `-v` (the API requests), 6 and more into `-vv` (also the
    /// client's detail), 0 into nothing. Words after `--` are left alone.
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        Cli::try_parse_from(kubectl_verbosity(args.into_iter().map(Into::into)))
    }
}

/// Rewrites kubectl's `-v=N`, `-vN`, `-v N`, `--v=N` and `--v N` (N a number) into counted
/// `-v` flags.
fn kubectl_verbosity(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let counted = |level: &str| -> Option<OsString> {
        match level.trim_start_matches('0') {
            "" => None,
            "1" | "2" | "3" | "4" | "5" => Some("-v".into()),
            _ => Some("-vv".into()),
        }
    };
    let mut out = Vec::new();
    let mut args = args.peekable();
    let mut after_dashes = false;
    let is_level = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    while let Some(arg) = args.next() {
        let text = arg.to_str().unwrap_or_default();
        if after_dashes || out.is_empty() {
            out.push(arg);
            continue;
        }
        if text == "--" {
            after_dashes = true;
            out.push(arg);
            continue;
        }
        if let Some(rest) = text.strip_prefix("--v").or_else(|| text.strip_prefix("-v")) {
            let level = rest.strip_prefix('=').unwrap_or(rest);
            if is_level(level) && (text.starts_with("-v") || rest.starts_with('=')) {
                out.extend(counted(level));
                continue;
            }
            if rest.is_empty()
                && let Some(next) = args.peek().and_then(|n| n.to_str())
                && is_level(next)
            {
                out.extend(counted(next));
                args.next();
                continue;
            }
        }
        out.push(arg);
    }
    out
}

impl GlobalArgs {
    /// How much to log: 0 warnings only, 1 each API request, 2 also the client's own detail
    /// (kubectl's levels are mapped onto these by [`Cli::parse_args`]).
    pub fn verbosity(&self) -> u8 {
        self.verbose.min(2)
    }
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

    /// Show the API requests made (-v) and the client's own detail (-vv), never credentials;
    /// kubectl's -v=N, -v N and --v=N work too: 1-5 as -v, 6 or more as -vv
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
pub enum CommandArgs {
    /// Print a shell completion script for `kubectl-bluegreen` (bash, zsh, fish, powershell)
    #[command(
        display_order = 1000,
        after_help = completion::EXAMPLES,
        after_long_help = completion::LONG_HELP
    )]
    Completion(completion::CompletionArgs),

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
    #[command(after_help = ROLLBACK_EXAMPLES, mut_args(rollback_flags))]
    Rollback(ReleaseArgs),

    /// Apply the cleanup policy to the idle colour now (never to the live one)
    #[command(after_help = CLEANUP_EXAMPLES, mut_args(cleanup_flags))]
    Cleanup(ReleaseArgs),

    /// Put a new version on the idle colour: update or create its Deployment (and test Service), wait until it is ready
    #[command(after_help = DEPLOY_EXAMPLES)]
    Deploy(DeployArgs),
}

const DEPLOY_EXAMPLES: &str = "\
Examples:
  # The new image on the idle colour; wait until every pod is Ready
  kubectl bluegreen deploy blueservice --image nginx:1.28

  # Name the container when the pod has several
  kubectl bluegreen deploy blueservice --image web=nginx:1.28 --image log=fb:2

  # In CI: no question, then promote
  kubectl bluegreen deploy blueservice --image nginx:1.28 --yes
  kubectl bluegreen promote blueservice --yes

  # The plan and the exact requests; nothing changes
  kubectl bluegreen deploy blueservice --image nginx:1.28 --dry-run";

/// Arguments of `deploy`.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// The production Service whose selector picks the live colour
    #[arg(value_name = "SERVICE")]
    pub service: String,

    /// The new version's image, for the container named (optional when the pod has one container); repeatable
    #[arg(long, value_name = "[CONTAINER=]IMAGE", required = true, value_parser = parse_image)]
    pub image: Vec<crate::plan::deploy::ImageSpec>,

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

    /// How long to wait for the rollout to complete and every pod to be Ready; 0 means no limit
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_timeout)]
    pub timeout: Timeout,

    /// Do not wait for the rollout; `status` shows its progress
    #[arg(long)]
    pub no_wait: bool,

    #[command(flatten)]
    pub pair: PairArgs,
}

impl DeployArgs {
    /// The release-command arguments `deploy` shares.
    pub fn release(&self) -> ReleaseArgs {
        ReleaseArgs {
            service: self.service.clone(),
            yes: self.yes,
            dry_run: self.dry_run,
            timeout: self.timeout,
            force: false,
            cleanup: None,
            allow: Vec::new(),
            also_flip: Vec::new(),
            scale_down_delay: None,
            pair: self.pair.clone(),
        }
    }
}

/// `[CONTAINER=]IMAGE`: a container name (a DNS label) and an image reference
/// (`[registry[:port]/]path[:tag][@sha256:digest]`, path lower-case).
fn parse_image(value: &str) -> Result<crate::plan::deploy::ImageSpec, String> {
    let (container, image) = match value.split_once('=') {
        Some((c, i)) => (Some(c), i),
        None => (None, value),
    };
    if let Some(c) = container {
        let label = !c.is_empty()
            && c.len() <= 63
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !c.starts_with('-')
            && !c.ends_with('-');
        if !label {
            return Err(format!(
                "{c:?} is not a container name: 1-63 lower-case letters, digits and '-'"
            ));
        }
    }
    if !valid_image(image) {
        return Err(format!(
            "{image:?} is not an image reference: [registry[:port]/]path[:tag][@sha256:digest], the path in lower case"
        ));
    }
    Ok(crate::plan::deploy::ImageSpec {
        container: container.map(str::to_string),
        image: image.to_string(),
    })
}

fn valid_image(image: &str) -> bool {
    if image.is_empty() || image.len() > 4096 || image.chars().any(char::is_whitespace) {
        return false;
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let Some(hex) = d.strip_prefix("sha256:") else {
            return false;
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
    }
    // A tag follows the last ':' after the last '/'.
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            && !t.starts_with(['.', '-']);
        if !ok {
            return false;
        }
    }
    let mut parts = path.split('/').peekable();
    let mut first = true;
    while let Some(part) = parts.next() {
        let is_registry = first
            && parts.peek().is_some()
            && (part.contains('.') || part.contains(':') || part == "localhost");
        first = false;
        if is_registry {
            continue;
        }
        let ok = !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && part
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric())
            && part
                .bytes()
                .last()
                .is_some_and(|b| b.is_ascii_alphanumeric());
        if !ok {
            return false;
        }
    }
    true
}

// Example lines stay within 80 columns: clap wraps longer ones, and a wrapped comment or
// command could not be pasted into a shell (`tests/integration/help.rs` checks this at 80 columns).
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
  # Every pair of the current namespace, one line each, with its verdict
  kubectl bluegreen list

  # Every pair of every namespace (adds a NAMESPACE column)
  kubectl bluegreen list -A

  # Pairs whose selector key `track` holds v1 or v2
  kubectl bluegreen list -n shop --label track --colors v1,v2

  # For scripts: the documented JSON document (kind PairList)
  kubectl bluegreen list -o json";

const PROMOTE_EXAMPLES: &str = "\
Examples:
  # Show the plan, confirm, flip to the idle colour, verify, scale the old down
  kubectl bluegreen promote blueservice

  # In CI: no question; wait up to 10 minutes for the idle colour to be ready
  kubectl bluegreen promote blueservice --yes --wait --timeout 10m

  # As the manual procedure does: delete the old Deployment and test Service
  kubectl bluegreen promote blueservice --cleanup delete

  # Print the plan and the exact requests; change nothing
  kubectl bluegreen promote blueservice --dry-run

  # The same, and let the API server validate each change (nothing is stored)
  kubectl bluegreen promote blueservice --dry-run=server";

const ROLLBACK_EXAMPLES: &str = "\
Examples:
  # Bring the previous colour back (scale it up or re-create it), wait until
  # it is available, move the traffic back, verify, scale the other one down
  kubectl bluegreen rollback blueservice

  # The same without a question, keeping the colour it leaves running
  kubectl bluegreen rollback blueservice --yes --cleanup none

  # Print the plan and the exact requests; change nothing
  kubectl bluegreen rollback blueservice --dry-run";

const CLEANUP_EXAMPLES: &str = "\
Examples:
  # After `promote --cleanup none`, or to finish an interrupted promote
  kubectl bluegreen cleanup blueservice

  # Delete the old colour's Deployment and test Services (saved for rollback)
  kubectl bluegreen cleanup blueservice --cleanup delete --yes

  # Scale down the idle colour even though traffic never left it
  kubectl bluegreen cleanup blueservice --force";

/// `--dry-run` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Print the plan and the requests; send nothing that changes anything
    Client,
    /// Also send the changes with the API server's dry-run (dryRun=All); nothing is stored
    Server,
}

/// Arguments shared by `promote`, `rollback` and `cleanup`. The flag descriptions here are
/// promote's; [`rollback_flags`] and [`cleanup_flags`] say what the same flags do in those
/// commands.
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

    /// How long --wait waits for the idle colour to become ready, and how long the endpoints may take to move to it before traffic is put back; 0 means no limit
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_timeout)]
    pub timeout: Timeout,

    /// Move traffic even when the idle colour fails the readiness checks or runs the live colour's pod template (says what it skipped); never to a colour without a Deployment or replicas
    #[arg(long)]
    pub force: bool,

    /// What to do with the colour traffic leaves, after --scale-down-delay [default: scale-down]
    #[arg(long, value_enum, value_name = "POLICY")]
    pub cleanup: Option<CleanupPolicy>,

    /// Accept a risk the release otherwise refuses (repeatable, or comma-separated)
    #[arg(long, value_enum, value_name = "RISK", value_delimiter = ',')]
    pub allow: Vec<Risk>,

    /// Move another Service that selects the live colour along with the production one, in the same release (repeatable)
    #[arg(long, value_name = "SERVICE", value_delimiter = ',')]
    pub also_flip: Vec<String>,

    /// How long to keep the old colour after the flip before cleaning it up, because kube-proxy on every node needs time to notice [default: 30s; when finishing an interrupted release, what is left of its delay]
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub scale_down_delay: Option<Timeout>,

    #[command(flatten)]
    pub pair: PairArgs,
}

/// What the release flags do in `rollback`.
fn rollback_flags(arg: clap::Arg) -> clap::Arg {
    let help = match arg.get_id().as_str() {
        "timeout" => {
            "How long to wait for the previous colour to become fully available (once scaled up or re-created) and for the endpoints to move back to it before traffic is put back; 0 means no limit"
        }
        "force" => {
            "Move traffic back without waiting for the previous colour's pods to become ready when it is still running (says what it skipped); a colour that was scaled down or deleted is still brought back and waited for"
        }
        "cleanup" => {
            "What to do with the colour traffic moves away from, after --scale-down-delay [default: scale-down]"
        }
        "scale_down_delay" => {
            "How long to keep the colour traffic moves away from before cleaning it up, because kube-proxy on every node needs time to notice [default: 30s; when finishing an interrupted release, what is left of its delay]"
        }
        _ => return arg,
    };
    arg.help(help)
}

/// What the release flags do in `cleanup`.
fn cleanup_flags(arg: clap::Arg) -> clap::Arg {
    let help = match arg.get_id().as_str() {
        "timeout" => {
            "Only when finishing a release interrupted before its endpoints were verified: how long they may take to move before traffic is put back; 0 means no limit"
        }
        "force" => {
            "Clean up the idle colour even though the journal records no move of traffic away from it (it may be the next version, waiting to be promoted)"
        }
        "cleanup" => {
            "The policy to apply to the idle colour [default: the one an interrupted release recorded, else scale-down]"
        }
        "scale_down_delay" => {
            "How long to wait before cleaning up [default: what is left of the delay recorded when traffic moved, else none]"
        }
        "allow" => {
            "Accept a risk the cleanup otherwise refuses; for cleanup only empty-services applies (it leaves other Services that select only the idle colour with no endpoints)"
        }
        "also_flip" => "Not used by cleanup, which moves no traffic (refused if given)",
        _ => return arg,
    };
    arg.help(help)
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

    /// Exit 11 when production is not as the last release left it: no ready endpoint, or a
    /// selector put back since (by another tool or by hand)
    #[arg(long, conflicts_with = "watch")]
    pub check: bool,

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

    /// The two colour values [default: what the Service's journal recorded, else blue,green]
    #[arg(long, value_name = "A,B", value_parser = parse_colours)]
    pub colors: Option<Colours>,
}

impl PairArgs {
    /// How to recognise the pair, as the flags say.
    pub fn spec(&self) -> crate::pair::PairSpec {
        crate::pair::PairSpec {
            label: self.label.clone(),
            colours: self.colors.clone().unwrap_or_default().0,
            colours_given: self.colors.is_some(),
        }
    }
}

/// The two colour values, in display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colours(pub [String; 2]);

impl Default for Colours {
    fn default() -> Self {
        Colours(["blue".to_string(), "green".to_string()])
    }
}

// The values of `-o`, `--cleanup` and `--allow` are defined where they are used; their spelling
// and help on the command line are given here, so nothing below the command line needs clap.

impl ValueEnum for OutputFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            OutputFormat::Table,
            OutputFormat::Wide,
            OutputFormat::Json,
            OutputFormat::Yaml,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            OutputFormat::Table => {
                PossibleValue::new("table").help("Both colours side by side and one row per pod")
            }
            OutputFormat::Wide => PossibleValue::new("wide").help(
                "The table plus each colour's selector, the endpoint addresses and the journal",
            ),
            OutputFormat::Json => PossibleValue::new("json").help("The documented JSON document"),
            OutputFormat::Yaml => PossibleValue::new("yaml").help("The same document as YAML"),
        })
    }
}

impl ValueEnum for CleanupPolicy {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            CleanupPolicy::ScaleDown,
            CleanupPolicy::Delete,
            CleanupPolicy::None,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            CleanupPolicy::ScaleDown => PossibleValue::new("scale-down")
                .help("Scale its Deployment to 0 after the delay, remembering the replica count"),
            CleanupPolicy::Delete => PossibleValue::new("delete")
                .help("Save its Deployment and test Service(s) into the journal, then delete them"),
            CleanupPolicy::None => {
                PossibleValue::new("none").help("Leave it running, for an instant rollback")
            }
        })
    }
}

impl ValueEnum for Risk {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Risk::Capacity,
            Risk::StrayPods,
            Risk::EmptyServices,
            Risk::OwnerRevert,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Risk::Capacity => PossibleValue::new("capacity").help(
                "Move traffic to a colour with less than half the ready pods production serves with now",
            ),
            Risk::StrayPods => PossibleValue::new("stray-pods").help(
                "Move traffic to a colour whose labels also match pods its Deployment does not own",
            ),
            Risk::EmptyServices => PossibleValue::new("empty-services").help(
                "Clean up a colour that other Services (another entry point) still select, leaving them empty",
            ),
            Risk::OwnerRevert => PossibleValue::new("owner-revert").help(
                "Clean up the colour another tool (kubectl apply, Helm, Argo CD, Flux) puts the selector back to at its next apply",
            ),
        })
    }
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
    fn kubectl_verbosity_levels_become_counted_flags() {
        let verbosity = |args: &[&str]| {
            let mut line = vec!["kubectl-bluegreen"];
            line.extend_from_slice(args);
            Cli::parse_args(line)
                .map(|cli| cli.global.verbosity())
                .map_err(|e| e.to_string())
        };
        for (args, level) in [
            (&["status", "web"][..], 0),
            (&["-v=6", "status", "web"], 2),
            (&["--v=6", "status", "web"], 2),
            (&["-v", "6", "status", "web"], 2),
            (&["status", "web", "-v", "9"], 2),
            (&["status", "web", "--v", "7"], 2),
            (&["status", "web", "-v6"], 2),
            (&["status", "web", "-v=4"], 1),
            (&["status", "web", "-v", "1"], 1),
            (&["status", "web", "-v=0"], 0),
            (&["status", "web", "-v"], 1),
            (&["-v", "status", "web"], 1),
            (&["status", "web", "-vv"], 2),
            (&["status", "web", "-vvv"], 2),
            (&["status", "web", "--verbose", "--verbose"], 2),
        ] {
            assert_eq!(verbosity(args), Ok(level), "{args:?}");
        }
        assert!(verbosity(&["status", "web", "-v=x"]).is_err());
        // After `--`, nothing is rewritten.
        let words = kubectl_verbosity(["k", "status", "--", "-v=6"].into_iter().map(Into::into));
        assert_eq!(words.last().map(|w| w.to_str()), Some(Some("-v=6")));
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
        assert_eq!(cli.global.verbosity(), 2);
        let CommandArgs::Status(status) = cli.command else {
            panic!("expected status");
        };
        assert_eq!(status.output, OutputFormat::Json);
        assert_eq!(status.pair.colors, None);
    }
}
