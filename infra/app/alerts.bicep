// Log alerts on what the app writes to Application Insights (workspace-based, so the rules query the
// Log Analytics workspace: table AppTraces, column Message; in Application Insights the same rows are
// traces/message). They match the log messages the code writes today; docs/operations.md says which
// structured fields (customDimensions) will replace the text matching.
// https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule

param location string
param tags object
param namePrefix string
param logAnalyticsWorkspaceId string

@description('E-mail address for the alerts; empty: no action group, the rules only show in the portal.')
param alertEmail string

@description('How far back the expense-import streak rule looks. 1 hour = 4 runs of the default 15-minute schedule.')
param expenseStreakWindow string = 'PT1H'

@description('Failed expense-import runs within expenseStreakWindow that make a streak.')
param expenseStreakRuns int = 3

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${namePrefix}'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'bcconnector'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actions = empty(alertEmail) ? [] : [actionGroup.id]

// A message the queue gave up on: shared/sync/_poison.py logs (ERROR)
// "Export <kind> <connector>/<hostId>: moved to <queue>-poison after <n> attempts".
resource retriesExhausted 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: 'alert-${namePrefix}-retries-exhausted'
  location: location
  tags: tags
  properties: {
    displayName: 'bc-connector: export messages exhausted their retries'
    description: 'A bc-customers/bc-projects/bc-products/bc-invoices message failed maxDequeueCount times and ended on its -poison queue; the connector got an export_failed notification and a failed outcome. See docs/operations.md.'
    severity: 2
    enabled: true
    scopes: [
      logAnalyticsWorkspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: '''
AppTraces
| where Message startswith "Export " and Message has ": moved to " and Message has "-poison"
| extend connector = extract(@"^Export \S+ ([^/]*)/", 1, Message)
| summarize exhausted = count() by connector
'''
          timeAggregation: 'Total'
          metricMeasureColumn: 'exhausted'
          dimensions: [
            {
              name: 'connector'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actions
    }
  }
}

// A connector whose grant is gone: shared/connectors/_status.py logs (WARNING)
// "Connector <name> needs reconnecting (was <status>): <reason>" once per change of status.
resource reconnectRequired 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: 'alert-${namePrefix}-reconnect-required'
  location: location
  tags: tags
  properties: {
    displayName: 'bc-connector: a connector needs reconnecting'
    description: 'A delegated connector lost its grant (revoked, expired, MFA or consent needed) and is now reconnect_required; its export work is parked until someone consents again. See docs/operations.md.'
    severity: 2
    enabled: true
    scopes: [
      logAnalyticsWorkspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: '''
AppTraces
| where Message startswith "Connector " and Message has " needs reconnecting (was "
| extend connector = extract(@"^Connector (\S+) needs reconnecting", 1, Message)
| summarize changes = count() by connector
'''
          timeAggregation: 'Total'
          metricMeasureColumn: 'changes'
          dimensions: [
            {
              name: 'connector'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: actions
    }
  }
}

// Expense-import runs with failures: functions/expenses.py logs one summary per timer run,
// "Expense import timer: <n> connectors (<k> failed, <m> completed, ...)"; an unexpected error of one
// connector is logged as "Expense import of connector <name> failed unexpectedly" / "could not run".
resource expenseImportStreak 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: 'alert-${namePrefix}-expense-import-streak'
  location: location
  tags: tags
  properties: {
    displayName: 'bc-connector: expense import keeps failing'
    description: 'Several expense-import timer runs in a row had failed connectors. See docs/operations.md for the per-connector query.'
    severity: 3
    enabled: true
    scopes: [
      logAnalyticsWorkspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: expenseStreakWindow
    criteria: {
      allOf: [
        {
          query: '''
AppTraces
| where (Message startswith "Expense import timer: " and Message matches regex @"[(, ][1-9][0-9]* failed")
    or (Message startswith "Expense import of connector " and (Message has "failed unexpectedly" or Message has "could not run"))
| summarize failedRuns = dcount(OperationId)
'''
          timeAggregation: 'Total'
          metricMeasureColumn: 'failedRuns'
          operator: 'GreaterThanOrEqual'
          threshold: expenseStreakRuns
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actions
    }
  }
}
