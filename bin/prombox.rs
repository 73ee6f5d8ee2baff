fn main() -> std::process::ExitCode {
    prombox::cli::main()
}
