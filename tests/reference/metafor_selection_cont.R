# Reference values for the one-parameter selection models of jdmstats.meta.selection
# (metafor::selmodel type = "halfnorm", "negexp", "logistic", "power"; steps at their default 0).
# Run from the repository root:
#     Rscript tests/reference/metafor_selection_cont.R
# Writes tests/reference/metafor_selection_cont.json next to this script.
#
#  * the log-likelihood at fixed parameter values from metafor's .selmodel.ll.cont with
#    integrate(rel.tol = 1e-12, subdivisions = 1000), every type and alternative (exact);
#  * fitted models on dat.hackshaw1998 (ML random-effects model, as metafor_selection.R):
#    optim BFGS reltol = 1e-15, maxit = 10000, and integrate(rel.tol = 1e-10,
#    subdivisions = 1000) (the default 1.2e-4 limits the accuracy of ll and of the Hessian);
#    with their fit.stats (ll, dev, AIC, BIC, AICc) and parms.
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                  value = TRUE))), "_setup.R"))
out <- reference_path("metafor_selection_cont.json")
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)
dat <- dat.hackshaw1998
res <- rma(yi, vi, data = dat, method = "ML", control = list(threshold = 1e-13, maxiter = 10000))
k <- res$k
X <- cbind(rep(1, k))
wfuns <- list(
  halfnorm = function(x, delta, yi, vi, preci, alternative, steps) exp(-delta * preci * x^2),
  negexp = function(x, delta, yi, vi, preci, alternative, steps) exp(-delta * preci * x),
  logistic = function(x, delta, yi, vi, preci, alternative, steps)
    2 * exp(-delta * preci * x) / (1 + exp(-delta * preci * x)),
  power = function(x, delta, yi, vi, preci, alternative, steps) (1 - x)^(preci * delta))
ll_cont <- function(type, beta, tau2, delta, alternative, rel.tol = 1e-12) {
  pmin <- if (type == "power") 1e-5 else 0
  pvals <- metafor:::.selmodel.pval(dat$yi, dat$vi, alternative)
  pvals[pvals < pmin] <- pmin; pvals[pvals > 1 - pmin] <- 1 - pmin
  metafor:::.selmodel.ll.cont(par = c(beta, tau2, delta), yi = dat$yi, vi = dat$vi, X = X,
    preci = rep(1, k), k = k, pX = 1, pvals = pvals, deltas = 1, delta.val = NA,
    delta.transf = FALSE, mapfun = NA, delta.min = 0, delta.max = 100, tau2.val = NA,
    tau2.transf = FALSE, tau2.max = Inf, beta.val = NA, wi.fun = wfuns[[type]], steps = 0,
    pgrp = NA, alternative = alternative, pval.min = pmin,
    intCtrl = list(lower = -Inf, upper = Inf, subdivisions = 1000L, rel.tol = rel.tol),
    verbose = FALSE, digits = res$digits, dofit = TRUE)$ll
}
fixed <- list()
for (type in names(wfuns)) for (alt in c("greater", "less", "two.sided")) {
  for (pp in list(list(b = 0.1, t = 0.02, d = 0.5), list(b = 0.2, t = 0, d = 3),
                  list(b = -0.1, t = 0.05, d = 1.5), list(b = 0.15, t = 0.01, d = 0))) {
    ll <- try(ll_cont(type, pp$b, pp$t, pp$d, alt), silent = TRUE)
    if (inherits(ll, "try-error")) { cat("fixed failed:", type, alt, unlist(pp), "\n"); next }
    fixed[[length(fixed) + 1]] <- list(type = type, alternative = alt, beta = pp$b,
      tau2 = pp$t, delta = pp$d, ll = ll)
  }
}
fits <- list()
ctrl_opt <- list(reltol = 1e-15, maxit = 10000,
                 intCtrl = list(rel.tol = 1e-10, subdivisions = 1000L))
for (type in names(wfuns)) for (alt in c("greater", "two.sided")) {
  s <- try(selmodel(res, type = type, alternative = alt, control = ctrl_opt), silent = TRUE)
  if (inherits(s, "try-error")) { cat("fit failed:", type, alt, "\n"); next }
  fits[[length(fits) + 1]] <- list(type = type, alternative = alt, beta = num(s$beta),
    se = num(s$se), tau2 = num(s$tau2), se_tau2 = num(s$se.tau2), delta = num(s$delta),
    se_delta = num(s$se.delta), ll = num(s$ll), LRT = num(s$LRT), LRTdf = num(s$LRTdf),
    LRTp = num(s$LRTp), parms = s$parms, fit_stats = unname(as.matrix(s$fit.stats)[, "ML"]),
    ll_at_fit = ll_cont(type, num(s$beta), num(s$tau2), num(s$delta), alt))
}
writeLines(toJSON(list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
  data = list(yi = c(dat$yi), vi = c(dat$vi)), ml_fit = list(beta = c(res$beta), tau2 = res$tau2),
  control = list(optim = "BFGS reltol 1e-15 maxit 10000", integrate_fit = "rel.tol 1e-10",
                 integrate_fixed = "rel.tol 1e-12"),
  fixed = fixed, fits = fits), digits = NA, auto_unbox = TRUE, na = "null"), out)
cat("wrote", out, "\n")
