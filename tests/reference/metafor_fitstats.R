# Reference values for jdmstats.meta.fitstats: fit statistics and likelihood-ratio tests.
#
# Run from the repository root:   Rscript tests/reference/metafor_fitstats.R
# Writes tests/reference/metafor_fitstats.json (full precision) next to this script.
#
# fitstats(): metafor's fit.stats matrix (ll, dev, AIC, BIC, AICc under ML and REML) and
#   logLik/AIC/BIC/AICc of the model, for 4 metadat datasets x EE/DL/REML/ML/PM, without and
#   with moderators (dat.bcg ~ ablat + year, dat.hackshaw1998 ~ year, dat.molloy2014 ~ year,
#   dat.pritz1997: intercept only).
# anova(full, reduced): likelihood-ratio tests of nested models (ML; REML with refit = TRUE;
#   EE), as on metafor's anova.rma help page (dat.bcg, ~ ablat vs intercept only).

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                 value = TRUE))), "_setup.R"))
out_path <- reference_path("metafor_fitstats.json")
ctrl <- list(threshold = 1e-13, maxiter = 10000, stepadj = 0.5, tol = 1e-12)  # tol: PM root

dsets <- list()
d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dsets$bcg <- list(yi = c(d$yi), vi = c(d$vi), mods = list(ablat = d$ablat, year = d$year))
d <- escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)
dsets$pritz1997 <- list(yi = c(d$yi), vi = c(d$vi), mods = list())
d <- dat.hackshaw1998
dsets$hackshaw1998 <- list(yi = c(d$yi), vi = c(d$vi), mods = list(year = d$year))
d <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
dsets$molloy2014 <- list(yi = c(d$yi), vi = c(d$vi), mods = list(year = d$year))

fs <- function(f) {
  m <- as.matrix(f$fit.stats)
  list(ML = unname(m[, "ML"]), REML = unname(m[, "REML"]), rows = rownames(m),
       logLik = as.numeric(logLik(f)), AIC = AIC(f), BIC = BIC(f),
       AICc = unname(fitstats(f)["AICc:", 1]), parms = f$parms, tau2 = f$tau2)
}
fit <- function(ds, mods, method) {
  if (length(mods)) {
    M <- do.call(cbind, ds$mods[mods])
    rma(ds$yi, ds$vi, mods = M, method = method, control = ctrl)
  } else {
    rma(ds$yi, ds$vi, method = method, control = ctrl)
  }
}

cases <- list()
for (dn in names(dsets)) {
  ds <- dsets[[dn]]
  specs <- if (length(ds$mods)) list(character(0), names(ds$mods)) else list(character(0))
  for (mods in specs) {
    for (m in c("EE", "DL", "REML", "ML", "PM")) {
      f <- suppressWarnings(fit(ds, mods, m))
      cases[[length(cases) + 1]] <- c(list(dataset = dn, mods = mods, method = m), fs(f))
    }
  }
}

lrt <- function(full, reduced, refit = FALSE) {
  x <- suppressWarnings(anova(full, reduced, refit = refit))
  list(LRT = x$LRT, pval = x$pval, parms_f = x$parms.f, parms_r = x$parms.r,
       tau2_f = x$tau2.f, tau2_r = x$tau2.r, R2 = x$R2, QE_f = x$QE.f, QE_r = x$QE.r,
       fit_f = unname(x$fit.stats.f), fit_r = unname(x$fit.stats.r), method = x$method)
}
b <- dsets$bcg
anovas <- list(
  list(name = "bcg ML ablat vs none", dataset = "bcg", full = "ablat", reduced = character(0),
       method = "ML", refit = FALSE,
       res = lrt(fit(b, "ablat", "ML"), fit(b, character(0), "ML"))),
  # anova(refit = TRUE) refits REML models with ML (update(method = "ML")); the same test:
  list(name = "bcg REML ablat+year vs ablat, refit with ML", dataset = "bcg",
       full = c("ablat", "year"), reduced = "ablat", method = "REML", refit = TRUE,
       res = lrt(fit(b, c("ablat", "year"), "ML"), fit(b, "ablat", "ML"))),
  list(name = "bcg EE ablat vs none", dataset = "bcg", full = "ablat", reduced = character(0),
       method = "EE", refit = FALSE,
       res = lrt(fit(b, "ablat", "EE"), fit(b, character(0), "EE"))),
  list(name = "hackshaw ML year vs none", dataset = "hackshaw1998", full = "year",
       reduced = character(0), method = "ML", refit = FALSE,
       res = lrt(fit(dsets$hackshaw1998, "year", "ML"),
                 fit(dsets$hackshaw1998, character(0), "ML")))
)

out <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  metadat = as.character(packageVersion("metadat"))),
  datasets = dsets, cases = cases, anova = anovas
)
write_json(out, out_path, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
cat("wrote", out_path, "\n")
