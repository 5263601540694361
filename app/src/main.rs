//! `scooterbooter`: the ScooterBooter server.
//!
//! - `serve [SERVICE…]`: run every service (or only those named) on the embedded
//!   defaults (or as configured).
//! - `migrate`: apply database migrations and exit.
//! - `token --email E`: print an access token for a local account (creating it);
//!   refused under `AUTH=cognito`/`oidc`, whose tokens only the provider mints.
//! - `worker`: run only the job worker.
//! - `jobs --failed`: list jobs that gave up.
//! - `seed`: fill an empty store with a synthetic social graph (benchmarks, demos).
//! - `lambda` (`aws` feature): run as an AWS Lambda function (`SCOOTER_LAMBDA`); also
//!   what the binary does when the Lambda runtime starts it with no subcommand.

use anyhow::Context;
use clap::{Parser, Subcommand};
use scooter_http::MediaContext;
use scooterbooter::config::{Config, LogFormat};
use scooterbooter::seed::{self, SeedPlan};
use scooterbooter::services::Service;
use scooterbooter::{server, wiring};
use std::net::SocketAddr;
use std::path::PathBuf;

/// jemalloc, with its background thread returning freed memory to the system: glibc's
/// allocator kept a 3,000-connection burst's memory after it (80 MB idle against 23 MB
/// before); jemalloc gave most of it back within 10 s and served the burst faster
/// (docs/decisions.md, bench/OVERLOAD.md). `_RJEM_MALLOC_CONF` tunes it at run time.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(
    name = "scooterbooter",
    version,
    about = "The ScooterBooter backend server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum TimelinesAction {
    /// Rebuild every user's timeline now (or one user's with --user); with --lazy, drop
    /// them all so each is rebuilt on its owner's next read.
    Rebuild {
        /// Only this user (id).
        #[arg(long)]
        user: Option<String>,
        /// Drop instead of rebuilding now.
        #[arg(long, conflicts_with = "user")]
        lazy: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (creates ./data with the database and keys on first start).
    Serve {
        /// Mount only these services (`serve users posts`); all six when none is given.
        #[arg(value_enum)]
        services: Vec<Service>,
        /// Address to listen on.
        #[arg(long, env = "SCOOTER_LISTEN")]
        listen: Option<SocketAddr>,
        /// Data folder (database, signing keys).
        #[arg(long, env = "SCOOTER_DATA_DIR")]
        data: Option<PathBuf>,
    },
    /// Apply database migrations and exit.
    Migrate {
        /// Data folder.
        #[arg(long, env = "SCOOTER_DATA_DIR")]
        data: Option<PathBuf>,
    },
    /// Run only the job worker (notifications' push delivery, …) until Ctrl-C/SIGTERM.
    Worker {
        /// Data folder.
        #[arg(long, env = "SCOOTER_DATA_DIR")]
        data: Option<PathBuf>,
    },
    /// Inspect the job outbox.
    Jobs {
        /// List jobs that exhausted their attempts, newest first.
        #[arg(long)]
        failed: bool,
        /// Data folder.
        #[arg(long, env = "SCOOTER_DATA_DIR")]
        data: Option<PathBuf>,
    },
    /// Fill an empty store with a synthetic social graph (users rider1..riderN), and/or
    /// write access tokens of its users for load generators.
    Seed {
        /// Users to create.
        #[arg(long, default_value_t = 1_000)]
        users: u32,
        /// Distinct accounts each user follows.
        #[arg(long, default_value_t = 50)]
        follows_per_user: u32,
        /// Posts per user.
        #[arg(long, default_value_t = 20)]
        posts_per_user: u32,
        /// Live scoops per user.
        #[arg(long, default_value_t = 0)]
        scoops_per_user: u32,
        /// Random seed (the same seed gives the same graph).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// When the store already holds a seeded data set, keep it (adding fresh scoops,
        /// since seeded ones expire) instead of failing.
        #[arg(long)]
        reuse: bool,
        /// Write "token handle post-id" lines for users rider1.. to this file.
        #[arg(long)]
        tokens: Option<PathBuf>,
        /// How many users' tokens to write.
        #[arg(long, default_value_t = 1_000)]
        token_count: u32,
        /// Data folder.
        #[arg(long, env = "SCOOTER_DATA_DIR")]
        data: Option<PathBuf>,
    },
    /// Home timelines (`GET /feed`): rebuild them from posts and follows.
    Timelines {
        #[command(subcommand)]
        action: TimelinesAction,
        /// Data folder.
        #[arg(long, env = "SCOOTER_DATA_DIR", global = true)]
        data: Option<PathBuf>,
    },
    /// Run as an AWS Lambda function: API Gateway requests (`SCOOTER_LAMBDA=http`, the
    /// services in `SCOOTER_SERVICES`), or the job worker (`worker`, `video`).
    #[cfg(feature = "aws")]
    Lambda,
    /// Print a bearer token for the local account with this email, creating the account
    /// (email verified by you, the operator) if needed.
    Token {
        /// The account's email.
        #[arg(long)]
        email: String,
        /// Data folder.
        #[arg(long, env = "SCOOTER_DATA_DIR")]
        data: Option<PathBuf>,
    },
}

/// The Lambda runtime starts the binary (as `bootstrap`) with no arguments and
/// `AWS_LAMBDA_RUNTIME_API` set: that means `lambda`.
#[cfg(feature = "aws")]
fn started_by_lambda() -> Option<Command> {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").map(|_| Command::Lambda)
}

#[cfg(not(feature = "aws"))]
fn started_by_lambda() -> Option<Command> {
    None
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Pretty => builder.init(),
    }
}

/// How long after start the media tools are test-run: starting FFmpeg loads dozens of
/// shared libraries, and on two cores that competed with the first requests (cold
/// start 13 → 35 ms in bench/RESULTS.md).
const TOOL_CHECK_DELAY: std::time::Duration = std::time::Duration::from_secs(3);

/// Says once at start whether video processing is on, and checks in the background,
/// a few seconds after start, that the tools found actually run.
fn announce_video(media: &MediaContext) {
    match media.video.clone() {
        None => tracing::warn!(
            "FFmpeg not found (install it or set FFMPEG_PATH): video processing is off"
        ),
        Some(tools) => {
            tokio::spawn(async move {
                tokio::time::sleep(TOOL_CHECK_DELAY).await;
                if let Err(why) = tools.verify().await {
                    tracing::error!(%why, "FFmpeg was found but does not run: video processing will fail");
                }
            });
        }
    }
    if let Some(heic) = media.heic.clone() {
        tokio::spawn(async move {
            tokio::time::sleep(TOOL_CHECK_DELAY).await;
            if let Err(why) = heic.verify().await {
                tracing::error!(%why, "heif-convert was found but does not run: HEIC uploads will fail");
            }
        });
    }
}

/// Says once at start whether push delivery is on.
fn announce_push(config: &Config) {
    match &config.push {
        Some(p) => tracing::info!(
            expo = p.url.as_deref().unwrap_or("off"),
            fcm = p.fcm.is_some(),
            apns = p.apns.is_some(),
            "push delivery is on"
        ),
        None => tracing::info!(
            "push delivery is off (set EXPO_PUSH_URL, FCM_CREDENTIALS_FILE or APNS_KEY_FILE to turn it on)"
        ),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::from_process_env()?;
    init_logging(config.log_format);
    let Some(command) = cli.command.or_else(started_by_lambda) else {
        use clap::CommandFactory;
        Cli::command().print_help()?;
        std::process::exit(2);
    };
    match command {
        #[cfg(feature = "aws")]
        Command::Lambda => {
            let env = |k: &str| std::env::var(k).ok();
            let (mode, services) =
                scooterbooter::lambda::settings(&scooterbooter::config::Env(&env))?;
            scooterbooter::lambda::run(config, mode, services).await?;
        }
        Command::Serve {
            services,
            listen,
            data,
        } => {
            if !services.is_empty() {
                let mut services = services;
                services.sort();
                services.dedup();
                config.services = services;
            }
            config.listen = listen.unwrap_or(config.listen);
            config.data_dir = data.unwrap_or(config.data_dir);
            let app = wiring::build(&config).await?;
            wiring::sweep_cut_off_uploads(&config, &app.ctx.media).await;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            tracing::info!(
                listen = %listener.local_addr()?,
                data_dir = %config.data_dir.display(),
                services = %config.services.iter().map(|s| s.name()).collect::<Vec<_>>().join(","),
                trusting_x_forwarded_for_from = ?config.trusted_proxies,
                "scooterbooter serving"
            );
            announce_push(&config);
            announce_video(&app.ctx.media);
            if let Some(listen) = config.metrics_listen {
                scooterbooter::metrics::serve(listen).await?;
            }
            let stop = server::Shutdown::on_signal();
            let worker = config
                .run_worker
                .then(|| tokio::spawn(app.worker.clone().run(stop.wait())));
            server::serve(listener, app.router, stop.wait(), config.serve).await?;
            if let Some(w) = worker {
                w.await.context("the job worker panicked")?;
            }
            app.store.close().await;
            tracing::info!("stopped");
        }
        Command::Worker { data } => {
            config.data_dir = data.unwrap_or(config.data_dir);
            let (ctx, store) = wiring::context(&config).await?;
            wiring::sweep_cut_off_uploads(&config, &ctx.media).await;
            announce_push(&config);
            announce_video(&ctx.media);
            let worker = wiring::standalone_worker(&config, &ctx)?;
            tracing::info!("job worker running");
            worker.run(server::Shutdown::on_signal().wait()).await;
            store.close().await;
        }
        Command::Jobs { failed, data } => {
            config.data_dir = data.unwrap_or(config.data_dir);
            let (_, store) = wiring::context(&config).await?;
            if failed {
                for job in store.dead_jobs(1000).await? {
                    let line = serde_json::json!({
                        "id": job.id, "kind": job.kind, "payload": job.payload,
                        "attempts": job.attempts, "lastError": job.last_error,
                        "createdAt": job.created_at.to_rfc3339(),
                    });
                    println!("{line}");
                }
            } else {
                eprintln!("nothing to do: pass --failed to list jobs that gave up");
            }
            store.close().await;
        }
        Command::Migrate { data } => {
            config.data_dir = data.unwrap_or(config.data_dir);
            // Migrating is what this command is for, whatever the start-up setting says.
            #[cfg(feature = "aws")]
            if let scooterbooter::config::StoreConfig::Dynamo(d) = &mut config.store {
                d.create_tables = true;
            }
            wiring::context(&config).await?;
            tracing::info!(database = %config.database_path().display(), "migrations applied");
        }
        Command::Seed {
            users,
            follows_per_user,
            posts_per_user,
            scoops_per_user,
            seed: random_seed,
            reuse,
            tokens,
            token_count,
            data,
        } => {
            config.data_dir = data.unwrap_or(config.data_dir);
            if tokens.is_some() {
                config.auth.can_mint_tokens()?;
            }
            let (ctx, store) = wiring::context(&config).await?;
            if reuse && seed::present(store.as_ref()).await? {
                tracing::info!("a seeded data set is present: keeping it, adding fresh scoops");
                seed::top_up_scoops(store.as_ref(), users, scoops_per_user).await?;
            } else {
                let plan = SeedPlan {
                    users,
                    follows_per_user,
                    posts_per_user,
                    scoops_per_user,
                    seed: random_seed,
                };
                seed::load(store.as_ref(), &plan, &ctx.policy.terms_version).await?;
            }
            if let Some(path) = tokens {
                let auth = ctx
                    .local_auth
                    .as_ref()
                    .context("AUTH=local is required to mint tokens")?;
                let file = std::fs::File::create(&path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                let mut out = std::io::BufWriter::new(file);
                let n =
                    seed::write_tokens(store.as_ref(), &auth.issuer, token_count, &mut out).await?;
                std::io::Write::flush(&mut out)?;
                tracing::info!(tokens = n, file = %path.display(), "tokens written");
            }
            store.close().await;
        }
        Command::Timelines {
            action: TimelinesAction::Rebuild { user, lazy },
            data,
        } => {
            config.data_dir = data.unwrap_or(config.data_dir);
            let (_, store) = wiring::context(&config).await?;
            let user = user
                .map(|u| scooter_core::UserId::parse(&u).context("--user is not a user id"))
                .transpose()?;
            let n = scooterbooter::timelines::rebuild(
                store.as_ref(),
                config.timelines,
                user.as_ref(),
                lazy,
            )
            .await?;
            if lazy {
                tracing::info!(
                    dropped = n,
                    "timelines dropped; each is rebuilt on its next read"
                );
            } else {
                tracing::info!(rebuilt = n, "timelines rebuilt");
            }
            store.close().await;
        }
        Command::Token { email, data } => {
            // Refused before anything is opened: the provider's tokens are the only ones
            // this configuration accepts.
            config.auth.can_mint_tokens()?;
            config.data_dir = data.unwrap_or(config.data_dir);
            let (ctx, store) = wiring::context(&config).await?;
            let auth = ctx
                .local_auth
                .as_ref()
                .context("AUTH=local is required to mint tokens")?;
            let token = scooter_users::domain::accounts::operator_token(
                ctx.store.as_ref(),
                auth,
                &ctx.policy,
                &email,
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot mint a token: {e}"))?;
            store.close().await;
            println!("{token}");
        }
    }
    Ok(())
}
