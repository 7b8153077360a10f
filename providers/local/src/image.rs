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

/// Pulls `image` when the Engine does not have it.
pub async fn ensure_present(engine: &Engine, image: &str) -> Result<(), ProviderError> {
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
    let mut pull = docker.create_image(
        Some(CreateImageOptionsBuilder::new().from_image(&reference).build()),
        None,
        None,
    );
    while let Some(progress) = pull.next().await {
        match progress {
            Ok(info) => {
                if let Some(error) = info.error_detail.and_then(|d| d.message) {
                    return Err(missing(image, &error));
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
            ensure_present(self.engine, &reference).await?;
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
