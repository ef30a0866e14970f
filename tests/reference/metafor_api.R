# Reference values for the result API of jdmstats.meta (issue 19, "In Jupyter"): the formula
# interface of metareg, confint() and fit statistics on every fitted result, and the
# log-likelihood convention of rma.glmm.
#
# Run from the repository root:   Rscript tests/reference/metafor_api.R
# Writes tests/reference/metafor_api.json (full precision) next to this script.
#
# formula   rma(yi, vi, mods = ~ ..., data = dat.bcg): coefficient names, b, se, zval/tval, QM,
#           QE, tau2 (REML, ML, DL; z and knha) and predict(newmods =) for formulas with
#           factor(), character variables, interactions, -1 / 0 +, I() and a logical moderator.
# confint   confint.rma.uni of a meta-regression (Q-profile tau2, tau, I2, H2).
# mh        fitstats() and confint() of rma.mh (OR, RR, RD) and rma.peto on dat.bcg.
# glmm      rma.glmm(measure = "PLO") fit.stats (metafor's convention), the lme4 logLik/AIC/BIC
#           (nAGQ = 1 and 7), the conditional log-likelihood sum(dbinom(xi, ni, fitted(glmer)))
#           and the equal-effects (glm) fit.stats, on dat.pritz1997 and dat.debruin2009.
# mv        weights(rma.mv) (diagonal, percent) of a three-level model (dat.konstantopoulos2011).
#
# Controls: rma threshold = 1e-13, maxiter = 10000, stepadj = 0.5; glmer bobyqa with
# rhoend = 1e-12, maxfun = 1e5, tolPwrss = 1e-12 (as metafor_proportions.R); rma.mv
# optim BFGS reltol = 1e-15 (as metafor_multilevel.R).

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                 value = TRUE))), "_setup.R"))
suppressPackageStartupMessages(library(lme4))
out_path <- reference_path("metafor_api.json")
ctrl <- list(threshold = 1e-13, maxiter = 10000, stepadj = 0.5)

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$early <- bcg$year < 1960  # a logical moderator
data_bcg <- list(yi = c(bcg$yi), vi = c(bcg$vi), ablat = bcg$ablat, year = bcg$year,
                 alloc = bcg$alloc, early = bcg$early, trial = bcg$trial, tpos = bcg$tpos,
                 tneg = bcg$tneg, cpos = bcg$cpos, cneg = bcg$cneg)

formulas <- c("~ ablat + factor(alloc)", "~ ablat * year", "~ 0 + factor(alloc)",
              "~ alloc", "~ factor(alloc) - 1", "~ I(year - 1970) + ablat", "~ ablat * alloc",
              "~ early + ablat", "~ ablat:year")
newmods <- data.frame(ablat = c(20, 45), year = c(1950, 1975),
                      alloc = c("random", "systematic"), early = c(TRUE, FALSE))
fcases <- list()
for (f in formulas) for (m in c("REML", "ML", "DL")) for (tst in c("z", "knha")) {
  r <- rma(yi, vi, mods = as.formula(f), data = bcg, method = m, test = tst, control = ctrl)
  # the new rows' model matrix from the training data's coding (rows appended, then taken)
  both <- rbind(as.data.frame(bcg)[, c("ablat", "year", "alloc", "early")], newmods)
  X <- model.matrix(as.formula(f), data = both)[-seq_len(nrow(bcg)), , drop = FALSE]
  if (r$int.incl) X <- X[, -1, drop = FALSE]
  pr <- predict(r, newmods = unname(X))
  fcases[[length(fcases) + 1]] <- list(
    formula = f, method = m, test = tst, names = rownames(r$beta), b = c(r$beta), se = r$se,
    stat = r$zval, QM = r$QM, QMp = r$QMp, QE = r$QE, QEp = r$QEp,
    tau2 = r$tau2, R2 = if (is.null(r$R2)) NA else r$R2, int_incl = r$int.incl,
    pred = c(pr$pred), pred_se = c(pr$se), pi_lb = c(pr$pi.lb), pi_ub = c(pr$pi.ub))
}

# confint of meta-regressions
ccases <- list()
for (f in c("~ ablat", "~ ablat + year")) for (m in c("REML", "ML", "DL")) {
  r <- rma(yi, vi, mods = as.formula(f), data = bcg, method = m, control = ctrl)
  ci <- confint(r, control = list(tol = 1e-12))
  ccases[[length(ccases) + 1]] <- list(
    formula = f, method = m, random = unname(as.matrix(ci$random)),
    random_rows = rownames(ci$random))
}

# rma.mh / rma.peto
fs_list <- function(r) {
  m <- as.matrix(r$fit.stats)
  list(ML = unname(m[, "ML"]), REML = unname(m[, "REML"]), logLik = c(logLik(r)),
       deviance = deviance(r), AIC = AIC(r), BIC = BIC(r),
       AICc = unname(fitstats(r)["AICc:", 1]))
}
tab <- list(ai = dat.bcg$tpos, bi = dat.bcg$tneg, ci = dat.bcg$cpos, di = dat.bcg$cneg)
mh <- list()
for (m in c("OR", "RR", "RD")) {
  r <- do.call(rma.mh, c(list(measure = m), tab))
  ci <- confint(r)
  mh[[length(mh) + 1]] <- c(list(method = "MH", measure = m, confint = unname(c(ci$fixed))),
                            fs_list(r))
}
r <- do.call(rma.peto, tab)
ci <- confint(r)
mh[[length(mh) + 1]] <- c(list(method = "Peto", measure = "PETO",
                               confint = unname(c(ci$fixed))), fs_list(r))

# rma.glmm log-likelihood conventions
glmm_ctrl <- list(glmerCtrl = list(optimizer = "bobyqa",
                                   optCtrl = list(rhoend = 1e-12, maxfun = 1e5),
                                   tolPwrss = 1e-12))
glmm <- list()
for (nm in c("pritz1997", "debruin2009")) for (q in c(1, 7)) {
  d <- get(paste0("dat.", nm))
  r <- rma.glmm(measure = "PLO", xi = xi, ni = ni, data = d, nAGQ = q, retfit = TRUE,
                control = glmm_ctrl)
  r0 <- rma.glmm(measure = "PLO", xi = xi, ni = ni, data = d, method = "EE")
  g <- r$res.ML
  glmm[[length(glmm) + 1]] <- list(
    dataset = nm, nAGQ = q, xi = d$xi, ni = d$ni, beta = c(r$beta), tau2 = r$tau2,
    metafor_ML = unname(as.matrix(r$fit.stats)[, "ML"]),
    metafor_EE_ML = unname(as.matrix(r0$fit.stats)[, "ML"]),
    conditional_ll = sum(dbinom(d$xi, d$ni, fitted(g), log = TRUE)),
    lme4_logLik = c(logLik(g)), lme4_AIC = AIC(g), lme4_BIC = BIC(g),
    ll_saturated = sum(dbinom(d$xi, d$ni, d$xi / d$ni, log = TRUE)),
    glm_logLik = c(logLik(glm(cbind(d$xi, d$ni - d$xi) ~ 1, family = binomial))),
    weights_available = !inherits(try(weights(r), silent = TRUE), "try-error"),
    weights_message = tryCatch({weights(r); ""}, error = function(e) conditionMessage(e)),
    confint_message = tryCatch({confint(r); ""}, error = function(e) conditionMessage(e)))
}

# weights of a multilevel model
mv_ctrl <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000)
d <- dat.konstantopoulos2011
r <- rma.mv(yi, vi, random = ~ 1 | district / school, data = d, control = mv_ctrl)
mv <- list(yi = c(d$yi), vi = c(d$vi), district = d$district, school = d$school,
           sigma2 = r$sigma2, weights = unname(weights(r)))

out <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  lme4 = as.character(packageVersion("lme4"))),
  control = list(rma = ctrl, glmer = "bobyqa rhoend 1e-12 maxfun 1e5 tolPwrss 1e-12",
                 rma_mv = mv_ctrl, confint = list(tol = 1e-12)),
  bcg = data_bcg, newmods = as.list(newmods), formula = fcases, confint = ccases, mh = mh,
  glmm = glmm, mv = mv)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null",
                  pretty = FALSE), out_path)
cat("wrote", out_path, "\n")
