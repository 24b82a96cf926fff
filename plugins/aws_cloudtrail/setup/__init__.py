"""The AWS side of an integration: one plan (:mod:`.plan`), rendered as CloudFormation
(:mod:`.cfn`) or applied through the AWS APIs (:mod:`.deploy`)."""
