//! What promote, rollback and cleanup share: read the pair, plan, (wait,) check permissions,
//! show the plan, confirm, execute, report. One submodule per release command.

pub mod cleanup;
pub mod deploy;
pub mod promote;
pub mod rollback;

use std::io::IsTerminal;

use crate::cli::{DryRun, GlobalArgs, ReleaseArgs};
use crate::cluster::{Connection, access, connect, watch};
use crate::cmd::{connect_options, print};
use crate::error::{Error, Result};
use crate::execute::Executor;
use crate::pair::discover::selector_text;
use crate::pair::{self, PairSpec, Snapshot};
use crate::plan::{self, Outcome, Plan, ReleaseCommand};
use crate::progress::{Deadline, Progress};
use crate::render::{self, Palette, View, style};
use crate::verdict;

/// Runs one release command.
pub async fn run(
    global: &GlobalArgs,
    args: &ReleaseArgs,
    command: ReleaseCommand,
    wait: bool,
    to: Option<&str>,
) -> Result<()> {
    run_asked(global, args, command, wait, to, None).await
}

/// Runs one release command, `deploy` included.
pub async fn run_asked(
    global: &GlobalArgs,
    args: &ReleaseArgs,
    command: ReleaseCommand,
    wait: bool,
    to: Option<&str>,
    deploy: Option<&DeployAsk>,
) -> Result<()> {
    let conn = connect(&connect_options(global)).await?;
    let spec = args.pair.spec();
    let palette = Palette::new(style::colour_wanted(global.no_color));
    let deadline = Deadline::after(args.timeout.0);
    let ask = Ask {
        args,
        command,
        to,
        deploy,
    };
    let mut snapshot = pair::load(&conn, &args.service, &spec).await?;
    let mut outcome = plan::plan(&snapshot, &ask.options());

    if wait
        && args.dry_run.is_none()
        && matches!(&outcome, Outcome::Refused(r) if !r.blockers.is_empty() && r.blockers.iter().all(plan::readiness::Blocker::waitable))
        && snapshot.service.managed_by.is_none()
    {
        (snapshot, outcome) =
            wait_until_ready(&conn, &ask, &spec, snapshot, outcome, deadline).await?;
    }

    let plan = match outcome {
        Outcome::Nothing { message } => return print(&format!("{message}\n")),
        Outcome::Refused(r) => {
            // Several reasons: one per line, under a reason that ends with a colon.
            let reason = if r.blockers.len() > 1 && r.reason.ends_with(':') {
                let lines: Vec<String> = r.blockers.iter().map(ToString::to_string).collect();
                format!("{}\n  - {}", r.reason, lines.join("\n  - "))
            } else {
                r.reason
            };
            return Err(Error::Refused {
                reason,
                hint: r.hint,
            });
        }
        Outcome::Proceed(plan) => plan,
    };

    // A person answering the question reads the summary and the steps; the pod rows and the
    // reason of each step come with -v, with a pair small enough to fit a screen, and whenever
    // nobody is asked (--yes, --dry-run), where the full plan is the record.
    let asked = args.dry_run.is_none() && !args.yes;
    let pods: usize = snapshot.colours.iter().map(|c| c.pods.len()).sum();
    let brief = asked && global.verbose == 0 && pods > SMALL_PAIR_PODS;
    print(&show(&conn, &snapshot, &plan, &palette, brief))?;
    if !plan.forced.is_empty() {
        eprintln!(
            "WARNING: --force: moving traffic although these readiness checks failed: {}",
            plan.forced.join("; ")
        );
    }
    let journal = crate::pair::journal::Journal::of(&snapshot);
    if args.dry_run == Some(DryRun::Client) {
        print(&format!("\n{}", render::plan::requests(&plan, &journal)))?;
        return print("\nDry run: nothing was changed.\n");
    }

    access::check(&conn, &plan.permissions(&journal)).await?;

    if args.dry_run.is_none() && !args.yes {
        confirm(&conn, &plan)?;
    }

    let server_dry_run = args.dry_run == Some(DryRun::Server);
    // Waits before the flip (rollback's scale-up) and verification each get --timeout.
    let mut executor = Executor::new(&conn, &snapshot, server_dry_run, args.timeout.0);
    let result = executor.run(&plan).await;
    match result {
        Ok(()) => print(&summary(&plan, &executor.done, server_dry_run)),
        Err(e) => {
            if !executor.done.is_empty() {
                // What already happened is a result too.
                let mut text = String::from("\nDone before the error:\n");
                for line in &executor.done {
                    text.push_str(&format!("  - {line}\n"));
                }
                print(&text)?;
            }
            Err(e)
        }
    }
}

/// What the user asked for, as the plan needs it.
struct Ask<'a> {
    args: &'a ReleaseArgs,
    command: ReleaseCommand,
    to: Option<&'a str>,
    deploy: Option<&'a DeployAsk>,
}

/// What `deploy` adds to a release command's arguments.
#[derive(Debug, Clone, Default)]
pub struct DeployAsk {
    /// `--image`.
    pub images: Vec<crate::plan::deploy::ImageSpec>,
    /// `--no-wait`.
    pub no_wait: bool,
}

impl Ask<'_> {
    /// The plan options, at the current time.
    fn options(&self) -> plan::Options {
        let args = self.args;
        plan::Options {
            command: self.command,
            policy: args.cleanup,
            delay: args
                .scale_down_delay
                .map_or(plan::DEFAULT_DELAY, |d| d.0.unwrap_or_default()),
            delay_given: args.scale_down_delay.is_some(),
            force: args.force,
            to: self.to.map(str::to_string),
            now: jiff::Timestamp::now(),
            allow: plan::Allowed::of(&args.allow),
            also_flip: args.also_flip.clone(),
            images: self.deploy.map(|d| d.images.clone()).unwrap_or_default(),
            no_wait: self.deploy.is_some_and(|d| d.no_wait),
        }
    }
}

/// `--wait`: re-reads the pair whenever its pods or Deployments change, until the plan
/// proceeds (its readiness checks are [`plan::readiness::readiness_blockers`], as every wait's)
/// or the deadline passes.
async fn wait_until_ready(
    conn: &Connection,
    ask: &Ask<'_>,
    spec: &PairSpec,
    snapshot: Snapshot,
    outcome: Outcome,
    deadline: Deadline,
) -> Result<(Snapshot, Outcome)> {
    let idle = snapshot.idle_colour.clone();
    let selector = plan::colour(&snapshot, &idle)
        .map(|c| selector_text(&c.selector))
        .unwrap_or_default();
    let mut changes = watch::pair_changes(conn, &selector);
    let mut progress = Progress::new();
    let why = refused_why(&outcome);
    let replan = async || -> Result<((Snapshot, Outcome), Option<String>)> {
        let snapshot = pair::load(conn, &ask.args.service, spec).await?;
        let outcome = plan::plan(&snapshot, &ask.options());
        let why = refused_why(&outcome);
        Ok(((snapshot, outcome), why))
    };
    let waited = crate::execute::watch::until_ready(
        &mut changes,
        &idle,
        ((snapshot, outcome), why),
        deadline,
        &mut progress,
        replan,
    )
    .await?;
    Ok(waited.unwrap_or_else(|last| last))
}

/// Why the plan does not go ahead yet; `None` when it does.
fn refused_why(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Refused(refusal) if refusal.blockers.is_empty() => Some(refusal.reason.clone()),
        Outcome::Refused(refusal) => Some(plan::readiness::sentences(&refusal.blockers)),
        _ => None,
    }
}

/// Up to this many pods in both colours, a confirmation shows every pod and every reason.
const SMALL_PAIR_PODS: usize = 10;

/// The side-by-side view followed by the plan; `brief`: the summary and one line per step.
fn show(
    conn: &Connection,
    snapshot: &Snapshot,
    plan: &Plan,
    palette: &Palette,
    brief: bool,
) -> String {
    let verdict = verdict::decide(snapshot);
    let view = View {
        target: &conn.target,
        snapshot,
        verdict: &verdict,
    };
    if brief {
        return format!(
            "{}\n{}(pod rows and the reason of each step: -v)\n",
            render::table::render_summary(&view, palette),
            render::plan::render_brief(&conn.target, plan, palette)
        );
    }
    format!(
        "{}\n{}",
        render::table::render(&view, false, palette),
        render::plan::render(&conn.target, plan, palette)
    )
}

/// Asks on the terminal; refuses without one.
fn confirm(conn: &Connection, plan: &Plan) -> Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::NeedsConfirmation {
            command: plan.command.to_string(),
            service: plan.service.clone(),
        });
    }
    let question = match plan.flip() {
        Some(_) => format!(
            "{} {}: move traffic from {} to {} in context {}, namespace {}?",
            plan.command,
            plan.service,
            plan.live,
            plan.target,
            conn.target.context,
            conn.target.namespace
        ),
        None => format!(
            "{} {} in context {}, namespace {}?",
            plan.command, plan.service, conn.target.context, conn.target.namespace
        ),
    };
    let answer = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact_opt()
        .map_err(|e| Error::Internal(format!("cannot ask for confirmation: {e}")))?;
    if answer == Some(true) {
        Ok(())
    } else {
        Err(Error::Declined {
            command: plan.command.to_string(),
            service: plan.service.clone(),
        })
    }
}

fn summary(plan: &Plan, done: &[String], dry_run: bool) -> String {
    let mut out = String::new();
    let head = match (plan.command, plan.flip()) {
        (_, Some(_)) if dry_run => format!(
            "\nServer dry run of {} {}: every change was validated by the API server; nothing was stored.\n",
            plan.command, plan.service
        ),
        (ReleaseCommand::Promote, Some(_)) => format!(
            "\nPromoted {}: {} → {}.\n",
            plan.service, plan.live, plan.target
        ),
        (ReleaseCommand::Rollback, Some(_)) => format!(
            "\nRolled back {}: {} → {}.\n",
            plan.service, plan.live, plan.target
        ),
        _ if dry_run => format!(
            "\nServer dry run of {} {}: nothing was stored.\n",
            plan.command, plan.service
        ),
        (ReleaseCommand::Deploy, _) => format!(
            "\nDeployed on {} for {}. Next: kubectl bluegreen promote {}\n",
            plan.target, plan.service, plan.service
        ),
        _ => format!("\n{} of {} done.\n", plan.command, plan.service),
    };
    out.push_str(&head);
    for line in done {
        out.push_str(&format!("  - {line}\n"));
    }
    out
}
