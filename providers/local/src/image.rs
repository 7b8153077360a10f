//! Images: making sure a container's image is on the Engine (pulled when
//! missing, a clear error when that fails), and `docker_image`, built from a
//! context directory through the Engine's build API and tagged
//! `name:<hash of the context>`, so an unchanged context is not rebuilt.

use crate::engine::{engine_error, is_not_found, Engine};
use crate::files::{hex, HostPaths};
use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use futures_util::StreamExt;
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use stackc_providers::ProviderError;
use std::path::Path;

/// The error code of an image that is neither present nor pullable.
pub const IMAGE_MISSING: &str = "ImageMissing";

/// Where a provider reports what a long operation is doing (pull
/// progress): called with the resource's address and one line of text.
pub type ProgressSink = std::sync::Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Reports progress of one resource's operation to the sink, if any.
#[derive(Clone, Default)]
pub struct Reporter {
    pub sink: Option<ProgressSink>,
    pub address: String,
}

impl Reporter {
    pub fn say(&self, text: &str) {
        if let Some(sink) = &self.sink {
            sink(&self.address, text);
        }
    }
}

/// Turns the Engine's pull stream into few lines: one when a layer's status
/// changes (`Pulling fs layer`, `Downloading`, `Pull complete`...), and
/// while it downloads or extracts, one per quarter of its size.
#[derive(Default)]
pub struct PullProgress {
    /// Per layer: its last status and the last quarter reported.
    layers: std::collections::HashMap<String, (String, i64)>,
}

impl PullProgress {
    /// The line to show for one message of the stream, if any.
    pub fn line(&mut self, reference: &str, info: &bollard::models::CreateImageInfo) -> Option<String> {
        let status = info.status.as_deref()?.trim();
        let Some(layer) = info.id.as_deref().filter(|id| !id.is_empty() && *id != reference) else {
            // About the whole image: "Pulling from library/nginx", "Digest: ...", "Status: ...".
            return Some(format!("pulling {reference}: {status}"));
        };
        let (current, total) = info
            .progress_detail
            .as_ref()
            .map(|d| (d.current.unwrap_or(0), d.total.unwrap_or(0)))
            .unwrap_or((0, 0));
        let quarter = if total > 0 { (current * 4 / total).min(4) } else { 0 };
        let entry = self.layers.entry(layer.to_string()).or_insert_with(|| (String::new(), -1));
        if entry.0 == status && (total == 0 || quarter <= entry.1) {
            return None;
        }
        *entry = (status.to_string(), quarter);
        let size = if total > 0 {
            format!(" {:.1}/{:.1} MB", current as f64 / 1e6, total as f64 / 1e6)
        } else {
            String::new()
        };
        Some(format!("pulling {reference}: layer {layer}: {status}{size}"))
    }
}

/// Pulls `image` when the Engine does not have it, telling `report` how
/// the pull goes.
pub async fn ensure_present(engine: &Engine, image: &str, report: &Reporter) -> Result<(), ProviderError> {
    let docker = engine.client().await?;
    engine.count("ImageInspect");
    match docker.inspect_image(image).await {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(engine_error(&format!("cannot inspect the image `{image}`"), e)),
    }
    let reference = if image.contains(':') || image.contains('@') {
        image.to_string()
    } else {
        format!("{image}:latest")
    };
    engine.count("ImageCreate");
    report.say(&format!("pulling {reference} (not on the Docker Engine)..."));
    let mut lines = PullProgress::default();
    let mut pull = docker.create_image(
        Some(CreateImageOptionsBuilder::new().from_image(&reference).build()),
        None,
        None,
    );
    while let Some(progress) = pull.next().await {
        match progress {
            Ok(info) => {
                if let Some(error) = info.error_detail.as_ref().and_then(|d| d.message.clone()) {
                    return Err(missing(image, &error));
                }
                if let Some(line) = lines.line(&reference, &info) {
                    report.say(&line);
                }
            }
            Err(e) => return Err(missing(image, &e.to_string())),
        }
    }
    Ok(())
}

fn missing(image: &str, why: &str) -> ProviderError {
    ProviderError {
        code: Some(IMAGE_MISSING.into()),
        message: format!(
            "the image `{image}` is not on the Docker Engine and pulling it failed ({why}); build it (`docker build \
             -t {image} DIR`) or load it (`docker load`), fix the `image`, or give the service a `build` context"
        ),
        retryable: false,
    }
}

/// SHA-256 over the context's files (relative path, mode and bytes, in
/// path order); symlinks by their target.
pub fn context_hash(dir: &Path) -> Result<String, ProviderError> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    for relative in &files {
        let path = dir.join(relative);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        if meta.file_type().is_symlink() {
            hasher.update(std::fs::read_link(&path).map_err(|e| io(&path, e))?.to_string_lossy().as_bytes());
        } else {
            use std::os::unix::fs::PermissionsExt;
            hasher.update(meta.permissions().mode().to_le_bytes());
            hasher.update(std::fs::read(&path).map_err(|e| io(&path, e))?);
        }
        hasher.update([0]);
    }
    Ok(hex(&hasher.finalize())[..16].to_string())
}

fn io(path: &Path, e: std::io::Error) -> ProviderError {
    ProviderError::new(format!("cannot read the build context at `{}`: {e}", path.display()))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), ProviderError> {
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| io(&path, e))?;
        if kind.is_dir() {
            collect(root, &path, out)?;
        } else {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

/// The `docker_image` kind.
pub struct Images<'a> {
    pub engine: &'a Engine,
    pub paths: &'a HostPaths,
    pub report: Reporter,
}

impl Images<'_> {
    /// The tag an image will have: the context's hash, or the name's own tag.
    pub fn planned_ref(&self, config: &Json) -> Result<(Option<String>, String), ProviderError> {
        let name = config["name"].as_str().unwrap_or_default();
        match config["context"].as_str() {
            Some(context) => {
                let hash = context_hash(&self.paths.resolve(context, false))?;
                Ok((Some(hash.clone()), format!("{name}:{hash}")))
            }
            None => Ok((None, name.to_string())),
        }
    }

    pub async fn create(
        &self,
        config: &Json,
        labels: std::collections::HashMap<String, String>,
    ) -> Result<Json, ProviderError> {
        let (hash, reference) = self.planned_ref(config)?;
        let docker = self.engine.client().await?;
        if let Some(context) = config["context"].as_str() {
            self.engine.count("ImageInspect");
            if docker.inspect_image(&reference).await.is_err() {
                let dir = self.paths.resolve(context, false);
                let tar = tar_context(&dir)?;
                let mut options =
                    BuildImageOptionsBuilder::new().t(&reference).rm(true).forcerm(true).labels(&labels);
                if let Some(dockerfile) = config["dockerfile"].as_str() {
                    options = options.dockerfile(dockerfile);
                }
                self.engine.count("ImageBuild");
                let mut build =
                    docker.build_image(options.build(), None, Some(bollard::body_full(tar.into())));
                let mut output = String::new();
                while let Some(step) = build.next().await {
                    match step {
                        Ok(info) => {
                            if let Some(error) = info.error_detail.and_then(|d| d.message).or(info.error) {
                                return Err(ProviderError::new(format!(
                                    "building `{reference}` from `{context}` failed: {error}\n{}",
                                    output.trim_end()
                                )));
                            }
                            if let Some(stream) = info.stream {
                                output.push_str(&stream);
                            }
                        }
                        Err(e) => {
                            return Err(engine_error(
                                &format!("building `{reference}` from `{context}` failed"),
                                e,
                            ))
                        }
                    }
                }
            }
        } else {
            ensure_present(self.engine, &reference, &self.report).await?;
        }
        self.read_ref(&reference, config, hash.as_deref()).await?.ok_or_else(|| {
            ProviderError::new(format!("the image `{reference}` was built but the Engine does not report it"))
        })
    }

    async fn read_ref(
        &self,
        reference: &str,
        config: &Json,
        hash: Option<&str>,
    ) -> Result<Option<Json>, ProviderError> {
        let docker = self.engine.client().await?;
        self.engine.count("ImageInspect");
        match docker.inspect_image(reference).await {
            Ok(image) => {
                let mut attributes = config.clone();
                attributes["id"] = json!(image.id.unwrap_or_default());
                attributes["ref"] = json!(reference);
                attributes["context_hash"] = hash.map(|h| json!(h)).unwrap_or(Json::Null);
                Ok(Some(attributes))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(engine_error(&format!("cannot inspect the image `{reference}`"), e)),
        }
    }

    /// The image as recorded, `None` when its tag is gone.
    pub async fn read(&self, prior: &Json) -> Result<Option<Json>, ProviderError> {
        let reference = prior["ref"].as_str().unwrap_or_default();
        self.read_ref(reference, prior, prior["context_hash"].as_str()).await
    }

    /// The tags built for this resource (none for a pulled image, which is
    /// left on the Engine).
    pub async fn tags(&self, prior: &Json, address: &str) -> Result<Vec<String>, ProviderError> {
        if prior["context"].is_null() {
            return Ok(Vec::new());
        }
        let docker = self.engine.client().await?;
        let name = prior["name"].as_str().unwrap_or_default();
        let filters = std::collections::HashMap::from([
            ("reference", vec![name.to_string()]),
            ("label", vec![format!("{}={address}", crate::container::LABEL_ADDRESS)]),
        ]);
        self.engine.count("ImageList");
        let images = docker
            .list_images(Some(
                bollard::query_parameters::ListImagesOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(|e| engine_error(&format!("cannot list the images of `{name}`"), e))?;
        Ok(images.into_iter().flat_map(|i| i.repo_tags).collect())
    }

    /// Removes a tag. One a container still runs cannot go (the Engine
    /// refuses): the next build or delete removes it, once a rollout has
    /// replaced those containers.
    pub async fn remove_tag(&self, reference: &str) -> Result<(), ProviderError> {
        let docker = self.engine.client().await?;
        self.engine.count("ImageDelete");
        match docker
            .remove_image(reference, None::<bollard::query_parameters::RemoveImageOptions>, None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => Ok(()),
            Err(e) => Err(engine_error(&format!("cannot remove the image `{reference}`"), e)),
        }
    }
}

/// The context directory as a tar archive (the build API's body).
fn tar_context(dir: &Path) -> Result<Vec<u8>, ProviderError> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.append_dir_all(".", dir).map_err(|e| io(dir, e))?;
    builder.into_inner().map_err(|e| io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{CreateImageInfo, ProgressDetail};

    fn info(id: &str, status: &str, current: i64, total: i64) -> CreateImageInfo {
        CreateImageInfo {
            id: Some(id.to_string()),
            status: Some(status.to_string()),
            progress_detail: (total > 0)
                .then_some(ProgressDetail { current: Some(current), total: Some(total) }),
            ..Default::default()
        }
    }

    #[test]
    fn a_pull_reports_each_layer_status_and_quarters_of_its_download() {
        let mut progress = PullProgress::default();
        let stream = [
            info("nginx:1.27", "Pulling from library/nginx", 0, 0),
            info("1a2b", "Pulling fs layer", 0, 0),
            info("1a2b", "Downloading", 1_000_000, 8_000_000),
            info("1a2b", "Downloading", 1_500_000, 8_000_000),
            info("1a2b", "Downloading", 2_000_000, 8_000_000),
            info("1a2b", "Downloading", 2_100_000, 8_000_000),
            info("1a2b", "Download complete", 0, 0),
            info("1a2b", "Pull complete", 0, 0),
            CreateImageInfo {
                status: Some("Status: Downloaded newer image for nginx:1.27".into()),
                ..Default::default()
            },
        ];
        let lines: Vec<String> = stream.iter().filter_map(|i| progress.line("nginx:1.27", i)).collect();
        assert_eq!(
            lines,
            vec![
                "pulling nginx:1.27: Pulling from library/nginx",
                "pulling nginx:1.27: layer 1a2b: Pulling fs layer",
                "pulling nginx:1.27: layer 1a2b: Downloading 1.0/8.0 MB",
                "pulling nginx:1.27: layer 1a2b: Downloading 2.0/8.0 MB",
                "pulling nginx:1.27: layer 1a2b: Download complete",
                "pulling nginx:1.27: layer 1a2b: Pull complete",
                "pulling nginx:1.27: Status: Downloaded newer image for nginx:1.27",
            ]
        );
    }
}
