# Edge cases of rma.uni that the main grid does not cover; writes metafor_edge.json beside itself.
# Run from the repository root: Rscript tests/reference/metafor_edge.R
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
fit_list <- function(r) list(estimate = as.numeric(r$b), se = r$se, statistic = r$zval,
                             pvalue = r$pval, ci_low = r$ci.lb, ci_high = r$ci.ub, tau2 = r$tau2)
yi <- c(0.5, 0.5, 0.5); vi <- c(0.1, 0.2, 0.1)
out <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
  identical_effects = list(yi = yi, vi = vi,
    knha = fit_list(rma(yi, vi, method = "REML", test = "knha")),
    adhoc = fit_list(rma(yi, vi, method = "REML", test = "adhoc")),
    z = fit_list(rma(yi, vi, method = "REML", test = "z"))))
write_json(out, file.path(here, "metafor_edge.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
