# Reference values for the GENQM tau^2 estimator (metafor rma.uni method = "GENQM": the
# generalised Q statistic with user weights set to the median of its distribution, a weighted
# sum of chi-squares evaluated by CompQuadForm::farebrother).
# Run from the repository root (needs CompQuadForm, installed in /work/Rlib from its CRAN
# mirror):   Rscript tests/reference/metafor_genqm.R
# Writes tests/reference/metafor_genqm.json next to this script.
# Control: uniroot tol = 1e-12 (metafor's control$tol); tau2.max = 100 (metafor's default).
.libPaths(c("/work/Rlib", .libPaths()))
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                 value = TRUE))), "_setup.R"))
out_path <- reference_path("metafor_genqm.json")
ctrl <- list(tol = 1e-12)
sets <- list()
d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
sets$bcg <- list(yi = c(d$yi), vi = c(d$vi), ablat = d$ablat)
d <- dat.hackshaw1998
sets$hackshaw1998 <- list(yi = c(d$yi), vi = c(d$vi), ablat = NULL)
d <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
sets$molloy2014 <- list(yi = c(d$yi), vi = c(d$vi), ablat = NULL)
d <- escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)
sets$pritz1997 <- list(yi = c(d$yi), vi = c(d$vi), ablat = NULL)
cases <- list()
for (nm in names(sets)) for (wt in c("isqrt", "unit", "ivw")) for (tst in c("z", "knha")) {
  s <- sets[[nm]]
  w <- switch(wt, isqrt = 1 / sqrt(s$vi), unit = rep(1, length(s$vi)), ivw = 1 / s$vi)
  r <- rma(s$yi, s$vi, method = "GENQM", weights = w, test = tst, control = ctrl)
  cases[[length(cases) + 1]] <- list(dataset = nm, weights = wt, test = tst, mods = FALSE,
    tau2 = r$tau2, se_tau2 = r$se.tau2, b = c(r$beta), se = r$se, I2 = r$I2, H2 = r$H2,
    QE = r$QE)
}
s <- sets$bcg
for (wt in c("isqrt", "unit")) {
  w <- if (wt == "isqrt") 1 / sqrt(s$vi) else rep(1, length(s$vi))
  r <- rma(s$yi, s$vi, mods = ~ s$ablat, method = "GENQM", weights = w, control = ctrl)
  cases[[length(cases) + 1]] <- list(dataset = "bcg", weights = wt, test = "z", mods = TRUE,
    tau2 = r$tau2, se_tau2 = r$se.tau2, b = c(r$beta), se = r$se, I2 = r$I2, H2 = r$H2,
    QE = r$QE)
}
writeLines(toJSON(list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  CompQuadForm = as.character(packageVersion("CompQuadForm"))),
  control = ctrl, datasets = sets, cases = cases), digits = NA, auto_unbox = TRUE,
  null = "null", na = "null"), out_path)
cat("wrote", out_path, "\n")
