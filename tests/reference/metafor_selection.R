# Reference values for jdmstats.meta.selection (selection models) from metafor::selmodel.
# Run from the repository root:
#     Rscript tests/reference/metafor_selection.R
# Writes tests/reference/metafor_selection.json next to this script.
#
# Two kinds of reference:
#  * the log-likelihood at fixed parameter values, from metafor's own internal functions
#    .selmodel.ll.stepfun / .selmodel.ll.cont (integrate() with rel.tol = 1e-12 for the beta
#    model): this is exact and tested tightly;
#  * fitted models (dat.hackshaw1998, the selmodel help examples) with optim/BFGS and
#    reltol = 1e-15 (the beta integrals at integrate()'s default rel.tol: tighter fails): metafor's optimiser uses
#    finite-difference gradients, so its estimates are accurate to ~1e-5 only (see the tests).
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                  value = TRUE))), "_setup.R"))
out <- reference_path("metafor_selection.json")
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)

dat <- dat.hackshaw1998
res <- rma(yi, vi, data = dat, method = "ML", control = list(threshold = 1e-13, maxiter = 10000))
k <- res$k
X <- cbind(rep(1, k))
pv <- pnorm(dat$yi / sqrt(dat$vi), lower.tail = FALSE)

ll_step <- function(beta, tau2, delta, steps, alternative = "greater") {
  pvals <- metafor:::.selmodel.pval(dat$yi, dat$vi, alternative)
  pgrp <- sapply(pvals, function(p) which(p <= steps)[1])
  wfun <- function(x, delta, yi, vi, preci, alternative, steps)
    delta[sapply(x, function(p) which(p <= steps)[1])] / preci
  metafor:::.selmodel.ll.stepfun(par = c(beta, tau2, delta), yi = dat$yi, vi = dat$vi, X = X,
    preci = rep(1, k), k = k, pX = 1, pvals = pvals, deltas = length(delta),
    delta.val = rep(NA, length(delta)), delta.transf = FALSE, mapfun = rep(NA, length(delta)),
    delta.min = rep(0, length(delta)), delta.max = rep(100, length(delta)), tau2.val = NA,
    tau2.transf = FALSE, tau2.max = Inf, beta.val = NA, wi.fun = wfun, steps = steps,
    pgrp = pgrp, alternative = alternative, pval.min = 0,
    intCtrl = list(lower = -Inf, upper = Inf, subdivisions = 100L, rel.tol = 1e-12),
    verbose = FALSE, digits = res$digits, dofit = TRUE)$ll
}
ll_beta <- function(beta, tau2, delta, alternative = "greater") {
  pvals <- metafor:::.selmodel.pval(dat$yi, dat$vi, alternative)
  pvals[pvals < 1e-5] <- 1e-5; pvals[pvals > 1 - 1e-5] <- 1 - 1e-5
  wfun <- function(x, delta, yi, vi, preci, alternative, steps)
    x^(delta[1] - 1) * (1 - x)^(delta[2] - 1)
  metafor:::.selmodel.ll.cont(par = c(beta, tau2, delta), yi = dat$yi, vi = dat$vi, X = X,
    preci = rep(1, k), k = k, pX = 1, pvals = pvals, deltas = 2, delta.val = c(NA, NA),
    delta.transf = FALSE, mapfun = c(NA, NA), delta.min = c(1e-5, 1e-5),
    delta.max = c(100, 100), tau2.val = NA, tau2.transf = FALSE, tau2.max = Inf, beta.val = NA,
    wi.fun = wfun, steps = NA, pgrp = NA, alternative = alternative, pval.min = 1e-5,
    intCtrl = list(lower = -Inf, upper = Inf, subdivisions = 1000L, rel.tol = 1e-12),
    verbose = FALSE, digits = res$digits, dofit = TRUE)$ll
}

fixed <- list()
steps4 <- c(0.025, 0.10, 0.50, 1)
for (alt in c("greater", "less", "two.sided")) {
  for (pp in list(list(b = 0.1, t = 0.02, d = c(1, 0.5, 0.2, 0.1)),
                  list(b = -0.05, t = 0, d = c(1, 1, 1, 1)),
                  list(b = 0.3, t = 0.1, d = c(1, 2, 0.5, 3)))) {
    fixed[[length(fixed) + 1]] <- list(type = "stepfun", alternative = alt, steps = steps4,
      beta = pp$b, tau2 = pp$t, delta = pp$d, ll = ll_step(pp$b, pp$t, pp$d, steps4, alt))
  }
}
for (alt in c("greater", "less")) {
  for (pp in list(list(b = 0.1, t = 0.02, d = c(0.5, 1.2)), list(b = 0.2, t = 0, d = c(1, 1)),
                  list(b = -0.1, t = 0.05, d = c(2, 0.7)), list(b = 0.15, t = 0.01, d = c(0.3, 3)))) {
    fixed[[length(fixed) + 1]] <- list(type = "beta", alternative = alt, steps = NA,
      beta = pp$b, tau2 = pp$t, delta = pp$d, ll = ll_beta(pp$b, pp$t, pp$d, alt))
  }
}

fits <- list()
sel_fields <- function(s, type, steps) {
  list(type = type, steps = steps, beta = num(s$beta), se = num(s$se), tau2 = num(s$tau2),
       se_tau2 = num(s$se.tau2), delta = num(s$delta), se_delta = num(s$se.delta),
       ll = num(s$ll), LRT = num(s$LRT), LRTdf = num(s$LRTdf), LRTp = num(s$LRTp),
       ptable = if (is.data.frame(s$ptable)) s$ptable$k else NA)
}
ctrl_opt <- list(reltol = 1e-15, maxit = 10000)
for (st in list(steps4, c(0.05, 1))) {
  s <- selmodel(res, type = "stepfun", steps = st, control = ctrl_opt)
  fits[[length(fits) + 1]] <- sel_fields(s, "stepfun", st)
}
s <- selmodel(res, type = "beta", control = ctrl_opt)  # intCtrl rel.tol < default fails here
fits[[length(fits) + 1]] <- sel_fields(s, "beta", NA)
# selmodel's own ll (and LRT) for the beta model carry the error of integrate() at its default
# rel.tol (~1e-4); the log-likelihood at metafor's estimate with rel.tol = 1e-12:
for (i in seq_along(fits)) {
  f <- fits[[i]]
  fits[[i]]$ll_tight <- if (f$type == "beta") ll_beta(f$beta, f$tau2, f$delta)
                        else ll_step(f$beta, f$tau2, f$delta, f$steps)
}

write_json(list(metafor_version = as.character(packageVersion("metafor")),
                data = list(yi = dat$yi, vi = dat$vi), ml_fit = list(beta = c(res$beta),
                tau2 = res$tau2, ll = c(logLik(res))), fixed = fixed, fits = fits),
           out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
