//! HDR video from phones comes out as SDR that looks like the scene: HLG and PQ clips
//! (10-bit HEVC over BT.2020, made here from an SDR test chart with FFmpeg's `zscale`)
//! are tone-mapped to 8-bit BT.709, with saturation and brightness close to the SDR
//! chart's; an SDR clip keeps its colours. Needs FFmpeg (scripts/test.sh installs it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scooter_media::video::{HdrTransfer, VideoTools};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .status()
        .expect("FFmpeg is needed for video tests: scripts/test.sh installs it");
    assert!(status.success(), "ffmpeg {args:?}");
}

/// The SDR chart: colour bars and gradients, tagged BT.709.
fn sdr_chart(dir: &Path) -> PathBuf {
    let out = dir.join("sdr.mov");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=10:duration=1",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-color_primaries",
        "bt709",
        "-color_trc",
        "bt709",
        "-colorspace",
        "bt709",
        out.to_str().unwrap(),
    ]);
    out
}

/// The chart as a phone would record it in HDR: 10-bit HEVC, BT.2020, HLG or PQ.
fn hdr_chart(dir: &Path, sdr: &Path, transfer: &str) -> PathBuf {
    let out = dir.join(format!("{transfer}.mov"));
    let filter = format!(
        "zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t={transfer}:m=bt2020nc:p=bt2020:r=tv:\
         npl=100,format=yuv420p10le"
    );
    let x265 = format!("log-level=error:colorprim=bt2020:transfer={transfer}:colormatrix=bt2020nc");
    ffmpeg(&[
        "-i",
        sdr.to_str().unwrap(),
        "-vf",
        &filter,
        "-c:v",
        "libx265",
        "-x265-params",
        &x265,
        "-tag:v",
        "hvc1",
        "-color_primaries",
        "bt2020",
        "-color_trc",
        transfer,
        "-colorspace",
        "bt2020nc",
        out.to_str().unwrap(),
    ]);
    out
}

/// Mean HSV saturation and mean brightness (0–255) of the first frame at or after `at`
/// seconds (an image has only one, and none after 0).
fn look_at(video: &Path, at: Option<&str>) -> (f64, f64) {
    let seek = at.map(|at| ["-ss", at]);
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin"])
        .args(seek.iter().flatten())
        .arg("-i")
        .arg(video)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(out.status.success() && !out.stdout.is_empty(), "{video:?}");
    let pixels = out.stdout.chunks_exact(3);
    let n = pixels.len() as f64;
    let (mut sat, mut lum) = (0.0, 0.0);
    for p in pixels {
        let (max, min) = (*p.iter().max().unwrap(), *p.iter().min().unwrap());
        if max > 0 {
            sat += f64::from(max - min) * 255.0 / f64::from(max);
        }
        lum += p.iter().map(|&c| f64::from(c)).sum::<f64>() / 3.0;
    }
    (sat / n, lum / n)
}

/// [`look_at`] half a second in.
fn look(video: &Path) -> (f64, f64) {
    look_at(video, Some("0.5"))
}

/// ffprobe's view of the video stream: `pix_fmt,transfer,primaries`.
fn tags(video: &Path) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=pix_fmt,color_transfer,color_primaries",
            "-of",
            "csv=p=0",
        ])
        .arg(video)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn close(a: f64, b: f64, within: f64) -> bool {
    (a - b).abs() <= b * within
}

#[tokio::test]
async fn hlg_and_pq_video_is_tone_mapped_to_sdr_and_sdr_keeps_its_colours() {
    let tools = VideoTools::find(None, Duration::from_secs(60))
        .expect("FFmpeg must be installed (scripts/test.sh does)");
    let dir = tempfile::tempdir().unwrap();
    let sdr = sdr_chart(dir.path());
    let (sdr_sat, sdr_lum) = look(&sdr);

    // SDR: no HDR found; colours and tags as they were.
    let probe = tools.probe(&sdr).await.unwrap();
    assert_eq!(probe.hdr, None);
    let out = dir.path().join("sdr-out.mp4");
    let poster = dir.path().join("sdr-poster.jpg");
    tools
        .transcode(&sdr, &out, &poster, probe.hdr)
        .await
        .unwrap();
    let (sat, lum) = look(&out);
    assert!(
        close(sat, sdr_sat, 0.05) && close(lum, sdr_lum, 0.05),
        "SDR: {sat} {lum} vs {sdr_sat} {sdr_lum}"
    );
    assert_eq!(tags(&out), "yuv420p,bt709,bt709");

    for (transfer, expected) in [
        ("arib-std-b67", HdrTransfer::Hlg),
        ("smpte2084", HdrTransfer::Pq),
    ] {
        let hdr = hdr_chart(dir.path(), &sdr, transfer);
        let probe = tools.probe(&hdr).await.unwrap();
        assert_eq!(probe.hdr, Some(expected), "{transfer}");

        // Without the tone map (what the server did before): washed out.
        let naive = dir.path().join(format!("{transfer}-naive.mp4"));
        let poster = dir.path().join(format!("{transfer}-naive.jpg"));
        tools.transcode(&hdr, &naive, &poster, None).await.unwrap();
        let (naive_sat, _) = look(&naive);
        assert!(
            naive_sat < sdr_sat * 0.75,
            "{transfer} untouched: {naive_sat} vs {sdr_sat}"
        );

        let out = dir.path().join(format!("{transfer}-out.mp4"));
        let poster = dir.path().join(format!("{transfer}-poster.jpg"));
        tools
            .transcode(&hdr, &out, &poster, probe.hdr)
            .await
            .unwrap();
        let (sat, lum) = look(&out);
        assert!(
            close(sat, sdr_sat, 0.10),
            "{transfer}: saturation {sat} vs {sdr_sat}"
        );
        assert!(
            close(lum, sdr_lum, 0.20),
            "{transfer}: brightness {lum} vs {sdr_lum}"
        );
        assert_eq!(tags(&out), "yuv420p,bt709,bt709", "{transfer}");
        // The poster is made from the tone-mapped frames.
        let (poster_sat, _) = look_at(&poster, None);
        assert!(
            close(poster_sat, sdr_sat, 0.15),
            "{transfer} poster: {poster_sat} vs {sdr_sat}"
        );
    }
}
