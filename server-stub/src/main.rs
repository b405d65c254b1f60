//! The `server-stub` binary: parses the command line, binds, prints `listening on
//! http://ADDR` as its only line on stdout, and serves until SIGINT or SIGTERM. It logs to
//! stderr with `tracing`, filtered by `RUST_LOG` (`info` when unset): connections opened and
//! closed at info, requests and subscriptions at debug, frames at trace, test-control faults
//! at info, broken limits at warn. Tokens are never logged.

use clap::Parser;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tokio::net::TcpListener;

use tracing_subscriber::EnvFilter;

use tether_stub::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    init_logging();
    if let Err(e) = config.secret() {
        return fail(&e.to_string());
    }
    // Installed before the address is printed, so that a SIGTERM sent as soon as a script
    // reads it already shuts down gracefully.
    let shutdown = match shutdown_signal() {
        Ok(shutdown) => shutdown,
        Err(e) => return fail(&format!("cannot install signal handlers: {e}")),
    };
    let listener = match TcpListener::bind((config.host.as_str(), config.port)).await {
        Ok(listener) => listener,
        Err(e) => {
            return fail(&format!(
                "cannot listen on {}:{}: {e}",
                config.host, config.port
            ))
        }
    };
    if let Err(e) = announce(&listener) {
        return fail(&e.to_string());
    }
    tracing::info!(
        addr = %listener.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()),
        profile = ?config.profile,
        dev = config.dev,
        test_control = config.test_control,
        simulate = config.simulate,
        "listening"
    );
    let served = tether_stub::serve(config, listener, shutdown).await;
    tracing::info!("stopped");
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (`info` when it is unset or invalid).
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn fail(message: &str) -> ExitCode {
    eprintln!("server-stub: {message}");
    ExitCode::FAILURE
}

/// Prints the bound address, so that scripts and tests can read the port.
fn announce(listener: &TcpListener) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}")?;
    stdout.flush()
}

/// Installs the handlers now; the future resolves on SIGINT or SIGTERM.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}
