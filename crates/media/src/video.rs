//! Video with FFmpeg, treating every input as hostile: only the MP4/QuickTime demuxer is
//! allowed (`-f mov`, so playlists, concat scripts and HLS never parse), only local
//! files (`-protocol_whitelist file`), metadata is dropped (`-map_metadata -1`), output
//! length and size are capped (`-t`, `-fs`), and every run has a wall-clock limit after
//! which the process is killed. A bad file fails its job; the server stays up.
//!
//! Phones film HDR (HLG or PQ over BT.2020, 10-bit); played as the 8-bit BT.709 H.264
//! every viewer can decode, such video looks washed out unless it is tone-mapped. HDR
//! inputs are mapped to SDR BT.709 (see [`HdrTransfer`] and `docs/decisions.md`); SDR
//! inputs keep their colours and tags.

use crate::MediaError;
use crate::tools::{find_executable, tied_command};
use scooter_core::media::VIDEO_MAX_MS;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;

/// Largest accepted input width or height.
pub const MAX_INPUT_SIDE: u32 = 4096;

/// The FFmpeg tools and their limits.
#[derive(Debug, Clone)]
pub struct VideoTools {
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
    timeout: Duration,
}

/// What probing found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Length.
    pub duration_ms: u64,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// The HDR transfer of the video stream; `None` for SDR.
    pub hdr: Option<HdrTransfer>,
}

/// An HDR transfer function, as a video stream declares it. Dolby Vision with an HLG or
/// HDR10 base layer (profiles 8.4 and 8.1, what iPhones record) declares its base
/// layer's transfer, so it is mapped like that base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HdrTransfer {
    /// Hybrid log-gamma (ARIB STD-B67).
    Hlg,
    /// Perceptual quantizer (SMPTE ST 2084, HDR10).
    Pq,
}

impl HdrTransfer {
    /// From ffprobe's `color_transfer`.
    fn from_probe(transfer: &str) -> Option<Self> {
        match transfer {
            "arib-std-b67" => Some(Self::Hlg),
            "smpte2084" => Some(Self::Pq),
            _ => None,
        }
    }

    /// zscale's name for the input transfer.
    fn zscale_name(self) -> &'static str {
        match self {
            Self::Hlg => "arib-std-b67",
            Self::Pq => "smpte2084",
        }
    }
}

/// Scales to at most 1080 pixels on the short side (never up).
const SCALE: &str = "scale='if(gte(iw,ih),-2,min(1080,iw))':'if(gte(iw,ih),min(1080,ih),-2)'";

/// The video filter chain: the scale, then for HDR a tone map to BT.709. The map works
/// in linear light with 100 nits as SDR white, converts BT.2020 primaries to BT.709,
/// and uses the Möbius curve (linear up to near white, highlights rolled off) with no
/// desaturation, so that what was within SDR's range keeps its colour and brightness.
fn video_filter(hdr: Option<HdrTransfer>) -> String {
    match hdr {
        None => SCALE.to_owned(),
        Some(t) => format!(
            "{SCALE},zscale=tin={}:min=bt2020nc:pin=bt2020:t=linear:npl=100,format=gbrpf32le,\
             zscale=p=bt709,tonemap=tonemap=mobius:desat=0,zscale=t=bt709:m=bt709:r=tv,\
             format=yuv420p",
            t.zscale_name()
        ),
    }
}

#[derive(Deserialize)]
struct ProbeOut {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    format: Option<ProbeFormat>,
}

#[derive(Deserialize)]
struct ProbeStream {
    codec_type: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    color_transfer: Option<String>,
}

#[derive(Deserialize)]
struct ProbeFormat {
    duration: Option<String>,
}

impl VideoTools {
    /// Finds FFmpeg: `ffmpeg_path` (`FFMPEG_PATH`) or `ffmpeg` on `PATH`, with
    /// `ffprobe` beside it. `None` when either is missing: video processing is then off.
    /// Only looks for the files (a cold start must not wait for FFmpeg to load); call
    /// [`VideoTools::verify`] to learn whether they run.
    pub fn find(ffmpeg_path: Option<PathBuf>, timeout: Duration) -> Option<Self> {
        let wanted = ffmpeg_path.unwrap_or_else(|| PathBuf::from("ffmpeg"));
        let ffmpeg = find_executable(&wanted)?;
        let ffprobe = match ffmpeg.parent() {
            Some(dir) => dir.join("ffprobe"),
            None => PathBuf::from("ffprobe"),
        };
        let ffprobe = find_executable(&ffprobe)?;
        Some(Self {
            ffmpeg,
            ffprobe,
            timeout,
        })
    }

    /// Runs `-version` of both tools: `Err` names the one that does not run.
    pub async fn verify(&self) -> Result<(), String> {
        for tool in [&self.ffmpeg, &self.ffprobe] {
            let ok = Command::new(tool)
                .arg("-version")
                .output()
                .await
                .is_ok_and(|o| o.status.success());
            if !ok {
                return Err(format!("{} -version failed", tool.display()));
            }
        }
        Ok(())
    }

    async fn run(&self, tool: &Path, args: &[&str]) -> Result<Vec<u8>, MediaError> {
        let child = tied_command(tool).args(args).kill_on_drop(true).output();
        let out = tokio::time::timeout(self.timeout, child)
            .await
            .map_err(|_| {
                MediaError::Rejected(format!("processing took longer than {:?}", self.timeout))
            })?
            .map_err(|e| MediaError::io(&e))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(MediaError::from_tool(&err, || {
                // FFmpeg's own words (container names, memory addresses) are for the
                // operator's log, not for the rider's app.
                tracing::info!(tool = %tool.display(), detail = %err.trim(), "video refused");
                "not a usable video: the file could not be read as a video".to_owned()
            }));
        }
        Ok(out.stdout)
    }

    /// Probes a file; refuses non-video, over-long and over-large inputs.
    pub async fn probe(&self, input: &Path) -> Result<Probe, MediaError> {
        let path = input.to_string_lossy();
        let out = self
            .run(
                &self.ffprobe,
                &[
                    "-v",
                    "error",
                    "-protocol_whitelist",
                    "file",
                    "-f",
                    "mov",
                    "-show_entries",
                    "format=duration:stream=codec_type,width,height,color_transfer",
                    "-of",
                    "json",
                    &path,
                ],
            )
            .await?;
        let parsed: ProbeOut = serde_json::from_slice(&out)
            .map_err(|e| MediaError::Rejected(format!("unreadable probe: {e}")))?;
        let video = parsed
            .streams
            .iter()
            .find(|s| s.codec_type.as_deref() == Some("video"))
            .ok_or_else(|| MediaError::Rejected("the file has no video stream".into()))?;
        let (width, height) = (video.width.unwrap_or(0), video.height.unwrap_or(0));
        if width == 0 || height == 0 || width > MAX_INPUT_SIDE || height > MAX_INPUT_SIDE {
            return Err(MediaError::Rejected(format!(
                "video must be at most {MAX_INPUT_SIDE}px on each side"
            )));
        }
        let secs: f64 = parsed
            .format
            .and_then(|f| f.duration)
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| MediaError::Rejected("the video has no duration".into()))?;
        let duration_ms = (secs * 1000.0).round() as u64;
        if duration_ms > VIDEO_MAX_MS {
            return Err(MediaError::Rejected(format!(
                "video must be at most {} seconds",
                VIDEO_MAX_MS / 1000
            )));
        }
        Ok(Probe {
            duration_ms,
            width,
            height,
            hdr: video
                .color_transfer
                .as_deref()
                .and_then(HdrTransfer::from_probe),
        })
    }

    /// Transcodes to H.264/AAC MP4 with faststart, at most 1080p on the short side,
    /// tone-mapped to SDR BT.709 when `hdr` says the input is HDR, and writes a small
    /// JPEG poster frame from the output (so it is tone-mapped too).
    pub async fn transcode(
        &self,
        input: &Path,
        output: &Path,
        poster: &Path,
        hdr: Option<HdrTransfer>,
    ) -> Result<(), MediaError> {
        let (i, o, p) = (
            input.to_string_lossy(),
            output.to_string_lossy(),
            poster.to_string_lossy(),
        );
        let max_secs = (VIDEO_MAX_MS / 1000 + 1).to_string();
        let filter = video_filter(hdr);
        // An HDR input's tags would otherwise be copied onto the SDR output.
        let bt709: &[&str] = match hdr {
            Some(_) => &[
                "-color_primaries",
                "bt709",
                "-color_trc",
                "bt709",
                "-colorspace",
                "bt709",
            ],
            None => &[],
        };
        let args = [
            &[
                "-nostdin",
                "-v",
                "error",
                "-protocol_whitelist",
                "file",
                "-f",
                "mov",
                "-i",
                &i,
                "-map",
                "0:v:0",
                "-map",
                "0:a:0?",
                "-map_metadata",
                "-1",
                "-t",
                &max_secs,
                "-vf",
                &filter,
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "23",
                "-pix_fmt",
                "yuv420p",
            ][..],
            bt709,
            &[
                "-c:a",
                "aac",
                "-b:a",
                "128k",
                "-movflags",
                "+faststart",
                "-fs",
                "300M",
                "-f",
                "mp4",
                "-y",
                &o,
            ],
        ]
        .concat();
        self.run(&self.ffmpeg, &args).await?;
        self.run(
            &self.ffmpeg,
            &[
                "-nostdin",
                "-v",
                "error",
                "-protocol_whitelist",
                "file",
                "-i",
                &o,
                "-frames:v",
                "1",
                "-vf",
                "scale='min(320,iw)':-2",
                "-q:v",
                "4",
                "-f",
                "image2",
                "-y",
                &p,
            ],
        )
        .await?;
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in tool that exits with `exit`.
    fn script(dir: &Path, name: &str, exit: u8) -> std::io::Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\nexit {exit}\n"))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        Ok(path)
    }

    #[tokio::test]
    async fn ffprobe_must_sit_beside_ffmpeg_and_verify_names_a_tool_that_fails() {
        let dir = tempfile::tempdir().unwrap();
        let ffmpeg = script(dir.path(), "ffmpeg", 0).unwrap();
        let t = Duration::from_secs(5);
        assert!(
            VideoTools::find(Some(ffmpeg.clone()), t).is_none(),
            "no ffprobe"
        );
        script(dir.path(), "ffprobe", 1).unwrap();
        let tools = VideoTools::find(Some(ffmpeg.clone()), t).unwrap();
        let why = tools.verify().await.unwrap_err();
        assert!(why.contains("ffprobe"), "{why}");
        script(dir.path(), "ffprobe", 0).unwrap();
        assert!(
            VideoTools::find(Some(ffmpeg), t)
                .unwrap()
                .verify()
                .await
                .is_ok()
        );
    }
}
