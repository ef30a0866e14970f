# Shared preamble of the metafor reference scripts: the packages, and where a script writes its
# JSON (next to the script; tests/reference when run from the repository root).
# Use:  source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
#                                                          value = TRUE))), "_setup.R"))

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

reference_path <- function(name) {
  file_arg <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  out_dir <- if (length(file_arg)) dirname(normalizePath(file_arg)) else "tests/reference"
  file.path(out_dir, name)
}
