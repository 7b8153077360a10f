//! Reaching the Docker Engine as the Docker CLI does, lazily.
//!
//! The address is `target "local" { host = ... }`, else `DOCKER_HOST`, else
//! the default socket; `tcp://` uses TLS when `DOCKER_TLS_VERIFY` is set
//! (certificates from `DOCKER_CERT_PATH`, else `~/.docker`). Nothing is
//! contacted before the first API call (a plan from an empty state works
//! with no daemon). A daemon that does not answer is one error naming the
//! address and what to do; later calls of the command fail at once with the
//! same error instead of each waiting for their own.

use bollard::Docker;
use stackc_providers::ProviderError;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use tokio::sync::OnceCell;

/// The error code of an Engine that cannot be reached.
pub const UNREACHABLE: &str = "EngineUnreachable";

const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";
/// Seconds a request may take (a build or a pull streams for longer).
const TIMEOUT: u64 = 300;

/// Where the Engine is.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    /// `target "local" { host = ... }`: overrides `DOCKER_HOST`.
    pub host: Option<String>,
}

impl EngineConfig {
    /// The address the CLI would use: `host`, else `DOCKER_HOST`, else the
    /// default socket.
    pub fn address(&self) -> String {
        self.host
            .clone()
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| DEFAULT_SOCKET.to_string())
    }

    fn connect(&self) -> Result<Docker, String> {
        let address = self.address();
        let tls = std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty() && v != "0");
        let result = if address.starts_with("unix://") || address.starts_with('/') {
            let path = address.trim_start_matches("unix://");
            Docker::connect_with_unix(path, TIMEOUT, bollard::API_DEFAULT_VERSION)
        } else if address.starts_with("https://") || (address.starts_with("tcp://") && tls) {
            let certs = std::env::var("DOCKER_CERT_PATH")
                .map(PathBuf::from)
                .ok()
                .or_else(|| std::env::var("HOME").ok().map(|h| PathBuf::from(h).join(".docker")))
                .unwrap_or_else(|| PathBuf::from(".docker"));
            let address = address.replacen("tcp://", "https://", 1);
            Docker::connect_with_ssl(
                &address,
                &certs.join("key.pem"),
                &certs.join("cert.pem"),
                &certs.join("ca.pem"),
                TIMEOUT,
                bollard::API_DEFAULT_VERSION,
            )
        } else if address.starts_with("tcp://") || address.starts_with("http://") {
            Docker::connect_with_http(&address, TIMEOUT, bollard::API_DEFAULT_VERSION)
        } else {
            return Err(format!(
                "`{address}` is not a Docker Engine address: write unix:///path/to/docker.sock, tcp://host:port \
                 or https://host:port"
            ));
        };
        result.map_err(|e| e.to_string())
    }
}

/// The Engine client, connected at first use, with API call counts.
pub struct Engine {
    config: EngineConfig,
    client: OnceCell<Result<Docker, ProviderError>>,
    calls: Mutex<BTreeMap<&'static str, u64>>,
    /// When the last load balancer reload was sent.
    last_reload: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            config,
            client: OnceCell::new(),
            calls: Mutex::new(BTreeMap::new()),
            last_reload: tokio::sync::Mutex::new(None),
        }
    }

    pub fn address(&self) -> String {
        self.config.address()
    }

    /// The client; the first call connects and agrees on the API version
    /// (one request), so an Engine older than bollard's API is served.
    pub async fn client(&self) -> Result<&Docker, ProviderError> {
        let client = self
            .client
            .get_or_init(|| async {
                let address = self.address();
                let docker = self.config.connect().map_err(|e| unreachable(&address, &e))?;
                self.count("SystemVersion");
                docker.negotiate_version().await.map_err(|e| unreachable(&address, &e.to_string()))
            })
            .await;
        client.as_ref().map_err(Clone::clone)
    }

    /// Waits until `spacing` has passed since the previous reload; held
    /// while the caller reloads, so reloads go one at a time.
    pub async fn reload_slot(
        &self,
        spacing: std::time::Duration,
    ) -> tokio::sync::MutexGuard<'_, Option<tokio::time::Instant>> {
        let mut last = self.last_reload.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + spacing).await;
        }
        *last = Some(tokio::time::Instant::now());
        last
    }

    /// Counts one API request (`STACKC_LOCAL_STATS` prints them).
    pub fn count(&self, operation: &'static str) {
        if let Ok(mut calls) = self.calls.lock() {
            *calls.entry(operation).or_default() += 1;
        }
    }

    /// API requests made so far, by Engine operation.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.calls.lock().map(|c| c.iter().map(|(k, v)| (k.to_string(), *v)).collect()).unwrap_or_default()
    }
}

fn unreachable(address: &str, error: &str) -> ProviderError {
    ProviderError {
        code: Some(UNREACHABLE.into()),
        message: format!(
            "cannot reach the Docker Engine at {address} ({error}); start Docker (`sudo systemctl start docker`, \
             `sudo dockerd`, or Docker Desktop), or point `DOCKER_HOST` or `host` in the `target \"local\"` block \
             at a running Engine"
        ),
        retryable: false,
    }
}

/// True for the Engine's "no such object" answers.
pub fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(error, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

/// An Engine error as a provider error: the Engine's own message.
pub fn engine_error(what: &str, error: bollard::errors::Error) -> ProviderError {
    match error {
        bollard::errors::Error::DockerResponseServerError { status_code, message } => ProviderError {
            code: Some(format!("Engine{status_code}")),
            message: format!("{what}: {message}"),
            retryable: status_code >= 500,
        },
        other => ProviderError { code: None, message: format!("{what}: {other}"), retryable: false },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_host_wins_and_odd_schemes_are_refused() {
        let config = EngineConfig { host: Some("tcp://10.0.0.5:2375".into()) };
        assert_eq!(config.address(), "tcp://10.0.0.5:2375");
        let error = EngineConfig { host: Some("ftp://x".into()) }.connect().unwrap_err();
        assert!(error.contains("`ftp://x` is not a Docker Engine address"), "{error}");
    }

    #[tokio::test]
    async fn an_engine_that_does_not_answer_is_one_error_naming_the_address() {
        let engine = Engine::new(EngineConfig { host: Some("tcp://127.0.0.1:1".into()) });
        let first = engine.client().await.unwrap_err();
        assert_eq!(first.code.as_deref(), Some(UNREACHABLE));
        assert!(
            first.message.contains("cannot reach the Docker Engine at tcp://127.0.0.1:1"),
            "{}",
            first.message
        );
        assert!(first.message.contains("DOCKER_HOST"), "{}", first.message);
        // Later calls fail at once with the same error, without trying again.
        let second = engine.client().await.unwrap_err();
        assert_eq!(second.message, first.message);
        assert_eq!(engine.calls().get("SystemVersion"), Some(&1));
    }

    #[tokio::test]
    async fn tls_without_certificates_says_where_it_looked() {
        let dir = std::env::temp_dir().join("stackc-no-certs");
        let engine = Engine::new(EngineConfig { host: Some("https://127.0.0.1:1".into()) });
        std::env::set_var("DOCKER_CERT_PATH", &dir);
        let error = engine.client().await.unwrap_err();
        std::env::remove_var("DOCKER_CERT_PATH");
        assert_eq!(error.code.as_deref(), Some(UNREACHABLE));
        assert!(error.message.contains("https://127.0.0.1:1"), "{}", error.message);
    }
}
