# Reference values for jdmstats.meta.multilevel_models (rma.mv with nested random intercepts) and
# jdmstats.meta.cluster_robust (robust(): CR1 and clubSandwich CR2).
#
# Run from the repository root:   Rscript tests/reference/metafor_multilevel.R
# Writes tests/reference/metafor_multilevel.json (full precision) next to this script.
# Needs clubSandwich (not in Debian): installed from github:cran/clubSandwich into /work/Rlib.
#
# Models (all rma.mv, control = ctrl below):
#   konstantopoulos2011: random = ~ 1 | district/school; REML and ML; intercept only and ~ year;
#     test = "z" and test = "t" (dfs = "residual").
#   assink2016: random = ~ 1 | study/esid with a block-diagonal V (vcalc, rho = 0.6 within
#     study); REML; intercept only, ~ year and ~ year + pubstatus.
#   pritz1997 (PLO, escalc's 1/2 correction where xi = ni): random = ~ 1 | group/report with
#     groups of size 1 and 2 (the shape of the prevalence sensitivity analysis); REML and ML;
#     and random = ~ 1 | one/report with a single-level 'one' (its sigma2 fixed to 0).
#   bcg (log RR): random = ~ 1 | trial (one level, diagonal V), REML and ML, next to rma.uni.
# confint(): profile-likelihood CIs of every sigma2 (uniroot tol = 1e-12).
# robust(): CR1 (adjust = TRUE) and clubSandwich = TRUE (CR2, Satterthwaite, HTZ) on rma.uni
#   (bcg, REML, ~ 1, ~ ablat and ~ ablat + year, cluster = a grouping of the 13 trials into 7),
#   and rma.mv (konstantopoulos REML ~ 1 and ~ year, cluster = district; assink REML ~ year
#   and ~ year + pubstatus, cluster = study; pritz1997 ~ 1, cluster = group).

.libPaths(c("/work/Rlib", .libPaths()))
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                 value = TRUE))), "_setup.R"))
suppressPackageStartupMessages(library(clubSandwich))
out_path <- reference_path("metafor_multilevel.json")

# optim(BFGS) with reltol = 1e-15: nlminb with rel.tol = x.tol = 1e-12 stops with
# convergence = 1 on konstantopoulos ~ year and in the profiles of confint(); across nlminb
# (default), BFGS and bobyqa (rhoend = 1e-12) sigma2 agrees to ~5e-7 relative (numerical
# gradients), which bounds the accuracy of these reference values.
ctrl <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000)
ctrl_uni <- list(threshold = 1e-13, maxiter = 10000, stepadj = 0.5)
ci_ctrl <- list(tol = 1e-12)

dsets <- list()
d <- dat.konstantopoulos2011
dsets$konstantopoulos2011 <- list(yi = c(d$yi), V = c(d$vi), groups = list(district = d$district,
                                  school = d$school), mods = list(year = d$year))
d <- dat.assink2016
V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6, data = d)
dsets$assink2016 <- list(yi = c(d$yi), V = unname(as.matrix(V)),
                         groups = list(study = d$study, esid = d$esid),
                         mods = list(year = d$year, pubstatus = d$pubstatus))
d <- escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)
grp <- c(1, 1, 2, 3, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10)
dsets$pritz1997 <- list(yi = c(d$yi), V = c(d$vi), xi = d$xi, ni = d$ni,
                        groups = list(group = grp, report = d$study), mods = list())
# a single-level outer grouping: metafor fixes its sigma2 to 0 (and warns)
dsets$pritz1997_single <- dsets$pritz1997
dsets$pritz1997_single$groups <- list(one = rep(1, 14), report = d$study)
d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dsets$bcg <- list(yi = c(d$yi), V = c(d$vi), groups = list(trial = d$trial),
                  mods = list(ablat = d$ablat, year = d$year))

fit_mv <- function(ds, mods, method, test = "z") {
  g <- ds$groups
  env <- data.frame(yi = ds$yi, g1 = g[[1]])
  if (length(g) == 2) {
    env$g2 <- g[[2]]
    rnd <- ~ 1 | g1 / g2
  } else {
    rnd <- ~ 1 | g1
  }
  V <- if (is.matrix(ds$V)) ds$V else ds$V
  if (length(mods)) {
    M <- do.call(cbind, ds$mods[mods])
    rma.mv(yi, V, mods = M, random = rnd, data = env, method = method, test = test,
           control = ctrl)
  } else {
    rma.mv(yi, V, random = rnd, data = env, method = method, test = test, control = ctrl)
  }
}

summ <- function(f) {
  cis <- lapply(seq_along(f$sigma2), function(j) {
    if (f$vc.fix$sigma2[j]) return(c(f$sigma2[j], NA, NA))  # fixed: no interval
    ci <- confint(f, sigma2 = j, control = ci_ctrl)
    unname(ci$random[1, ])
  })
  list(sigma2 = f$sigma2, s_nlevels = f$s.nlevels, s_names = f$s.names,
       beta = c(f$beta), se = f$se, zval = f$zval, pval = f$pval, ci_lb = f$ci.lb,
       ci_ub = f$ci.ub, vb = unname(f$vb), QE = f$QE, QEp = f$QEp, QM = f$QM, QMdf = f$QMdf,
       QMp = f$QMp, ddf = f$ddf, fit_ML = unname(f$fit.stats[, "ML"]),
       fit_REML = unname(f$fit.stats[, "REML"]), logLik = as.numeric(logLik(f)),
       AIC = AIC(f), BIC = BIC(f), AICc = unname(fitstats(f)["AICc:", 1]), parms = f$parms,
       k = f$k, p = f$p, sigma2_ci = cis)
}

cases <- list()
add <- function(dn, mods, method, test = "z") {
  message(dn, " ", paste(mods, collapse = "+"), " ", method, " ", test)
  f <- fit_mv(dsets[[dn]], mods, method, test)
  cases[[length(cases) + 1]] <<- c(list(dataset = dn, mods = mods, method = method,
                                        test = test), summ(f))
  invisible(f)
}
fits <- list()
for (m in c("REML", "ML")) {
  for (mods in list(character(0), "year")) {
    f <- add("konstantopoulos2011", mods, m)
    fits[[paste("konstantopoulos2011", m, length(mods))]] <- f
  }
}
add("konstantopoulos2011", character(0), "REML", "t")
add("konstantopoulos2011", "year", "REML", "t")
fits[["assink2016 REML 0"]] <- add("assink2016", character(0), "REML")
fits[["assink2016 REML 1"]] <- add("assink2016", "year", "REML")
fits[["assink2016 REML 2"]] <- add("assink2016", c("year", "pubstatus"), "REML")
fits[["pritz1997 REML 0"]] <- add("pritz1997", character(0), "REML")
fits[["pritz1997 ML 0"]] <- add("pritz1997", character(0), "ML")
suppressWarnings(add("pritz1997_single", character(0), "REML"))
add("bcg", character(0), "REML")
add("bcg", character(0), "ML")
add("bcg", "ablat", "REML")

# rma.uni beside the one-level rma.mv fits (same data)
b <- dsets$bcg
uni <- list(REML = rma(b$yi, b$V, method = "REML", control = ctrl_uni),
            ML = rma(b$yi, b$V, method = "ML", control = ctrl_uni))
uni_out <- lapply(uni, function(f) list(tau2 = f$tau2, beta = c(f$beta), se = f$se,
                                        logLik = as.numeric(logLik(f))))

# robust()
bcg_cluster <- c(1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7)
rob_fit <- list(
  list(name = "bcg REML ~1", kind = "uni", dataset = "bcg", mods = character(0),
       cluster = bcg_cluster, fit = rma(b$yi, b$V, method = "REML", control = ctrl_uni)),
  list(name = "bcg REML ~ablat", kind = "uni", dataset = "bcg", mods = "ablat",
       cluster = bcg_cluster,
       fit = rma(b$yi, b$V, mods = b$mods$ablat, method = "REML", control = ctrl_uni)),
  list(name = "bcg REML ~ablat+year", kind = "uni", dataset = "bcg", mods = c("ablat", "year"),
       cluster = bcg_cluster,
       fit = rma(b$yi, b$V, mods = cbind(b$mods$ablat, b$mods$year), method = "REML",
                 control = ctrl_uni)),
  list(name = "konstantopoulos2011 REML ~1", kind = "mv", dataset = "konstantopoulos2011",
       mods = character(0), cluster = dsets$konstantopoulos2011$groups$district,
       fit = fits[["konstantopoulos2011 REML 0"]]),
  list(name = "konstantopoulos2011 REML ~year", kind = "mv", dataset = "konstantopoulos2011",
       mods = "year", cluster = dsets$konstantopoulos2011$groups$district,
       fit = fits[["konstantopoulos2011 REML 1"]]),
  list(name = "assink2016 REML ~year", kind = "mv", dataset = "assink2016", mods = "year",
       cluster = dsets$assink2016$groups$study, fit = fits[["assink2016 REML 1"]]),
  list(name = "assink2016 REML ~year+pubstatus", kind = "mv", dataset = "assink2016",
       mods = c("year", "pubstatus"), cluster = dsets$assink2016$groups$study,
       fit = fits[["assink2016 REML 2"]]),
  list(name = "pritz1997 REML ~1", kind = "mv", dataset = "pritz1997", mods = character(0),
       cluster = dsets$pritz1997$groups$group, fit = fits[["pritz1997 REML 0"]])
)
one <- function(x) list(beta = c(x$beta), se = x$se, zval = x$zval, pval = x$pval,
                        ci_lb = x$ci.lb, ci_ub = x$ci.ub, vb = unname(as.matrix(x$vb)), QM = x$QM,
                        QMdf = x$QMdf, QMp = x$QMp, dfs = x$dfs, n = x$n, vbest = x$vbest)
rob_out <- list()
for (r in rob_fit) {  # a loop at top level: robust() looks 'cluster' up by name
  cl <- r$cluster
  cr1 <- one(robust(r$fit, cluster = cl, adjust = TRUE))
  cr0 <- one(robust(r$fit, cluster = cl, adjust = FALSE))
  cr2 <- one(suppressWarnings(robust(r$fit, cluster = cl, clubSandwich = TRUE)))
  rob_out[[length(rob_out) + 1]] <- list(name = r$name, kind = r$kind, dataset = r$dataset,
                                         mods = r$mods, cluster = r$cluster, CR1 = cr1,
                                         CR0 = cr0, CR2 = cr2)
}

out <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  clubSandwich = as.character(packageVersion("clubSandwich"))),
  control = list(rma_mv = ctrl, rma_uni = ctrl_uni, confint = ci_ctrl),
  datasets = dsets, cases = cases, rma_uni = uni_out, robust = rob_out
)
jsonlite::write_json(out, out_path, digits = NA, auto_unbox = TRUE, matrix = "rowmajor")
cat("wrote", out_path, "\n")
