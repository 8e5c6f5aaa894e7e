#![doc = include_str!("../README.md")]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod compose;
mod export_web;
mod midi;
#[cfg(feature = "play")]
mod play;
mod render;
mod serve;
mod signals;
mod station_cmd;

/// The counting allocator behind the server's allocator figures.
#[global_allocator]
static ALLOC: auralis_host::alloc_count::CountingAlloc = auralis_host::alloc_count::CountingAlloc;

/// Auralis: generative ambient music that never repeats.
#[derive(Debug, Parser)]
#[command(name = "auralis-host", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand: serve (the flags of `serve`).
    #[command(flatten)]
    serve: serve::ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Stream live ambient music to every listener (the default).
    Serve(serve::ServeArgs),
    /// Compose endless ambient music and write it as a Standard MIDI File.
    Compose(compose::ComposeArgs),
    /// Write the built-in SoundFont (General MIDI, with the ambient keys and pads) to a file.
    Bank(BankArgs),
    /// Play the endless stream on this computer's speakers (the default audio output).
    #[cfg(feature = "play")]
    Play(play::PlayArgs),
    /// Render the endless stream (or a MIDI file, with --midi) to WAV.
    Render(render::RenderArgs),
    /// Push one endless composition to an Icecast server, as its source.
    Station(station_cmd::StationArgs),
    /// Write the web player as a static site that composes in the browser (for any static host or CDN).
    ExportWeb(export_web::ExportWebArgs),
}

/// Arguments of `bank`.
#[derive(Debug, clap::Args)]
struct BankArgs {
    /// The SF2 file to write.
    #[arg(long, short, default_value = "default.sf2")]
    out: std::path::PathBuf,
}

fn write_bank(args: &BankArgs) -> Result<(), String> {
    let bytes = auralis_core::bank::DEFAULT_SF2;
    std::fs::write(&args.out, bytes)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    eprintln!(
        "wrote {}: the built-in bank, {} KiB (General MIDI: every program, a drum kit on bank 128; the ambient soft keys 0 and pads 88-90)",
        args.out.display(),
        bytes.len() / 1024
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => serve::run(&cli.serve),
        Some(Command::Serve(args)) => serve::run(&args),
        Some(Command::Compose(args)) => compose::run(&args),
        Some(Command::Bank(args)) => write_bank(&args),
        #[cfg(feature = "play")]
        Some(Command::Play(args)) => play::run(&args),
        Some(Command::Render(args)) => render::run(&args),
        Some(Command::Station(args)) => station_cmd::run(&args),
        Some(Command::ExportWeb(args)) => export_web::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
