"""Library code that measures a model rather than trains it: the per-layer table (layer_table), penultimate
features (features), Fréchet distances (frechet), k-NN and k-fold selection (knn, kfold), the closed-form and
perceptron classifiers of the first chapter (linear, perceptron), saliency and class visualization (saliency,
synthesis), attention rollout (rollout), adversarial attacks (adversarial) and Hessian eigenvalues (curvature).
The modes in jaxdl.modes call them on a trained run."""
